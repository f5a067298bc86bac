//! Answers for requests that no handler takes: 405 with `Allow` when the path is one of
//! the API's with another method, 404 otherwise. The known paths and their methods are
//! read from the OpenAPI document, the one list of routes there is, so a new route needs
//! nothing here.

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::Problem;

/// Every documented path template (split into segments) with its methods.
#[derive(Debug, Clone, Default)]
pub struct KnownPaths(Vec<(Vec<String>, Vec<Method>)>);

impl KnownPaths {
    pub fn from_document(document: &serde_json::Value) -> Self {
        let paths = document["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(template, item)| {
                let mut methods: Vec<Method> = [
                    (Method::GET, "get"),
                    (Method::POST, "post"),
                    (Method::PUT, "put"),
                    (Method::PATCH, "patch"),
                    (Method::DELETE, "delete"),
                ]
                .into_iter()
                .filter_map(|(m, key)| item.get(key).is_some().then_some(m))
                .collect();
                if methods.contains(&Method::GET) {
                    methods.push(Method::HEAD);
                }
                (segments(template), methods)
            })
            .collect();
        KnownPaths(paths)
    }

    /// The methods of the documented path that `path` matches, if any.
    pub fn methods_of(&self, path: &str) -> Option<&[Method]> {
        let wanted = segments(path);
        self.0
            .iter()
            .find(|(template, _)| {
                template.len() == wanted.len()
                    && template.iter().zip(&wanted).all(|(t, w)| {
                        (t.starts_with('{') && t.ends_with('}') && !w.is_empty()) || t == w
                    })
            })
            .map(|(_, methods)| methods.as_slice())
    }
}

fn segments(path: &str) -> Vec<String> {
    path.trim_end_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect()
}

/// The app's default service.
pub async fn not_routed(req: HttpRequest, known: web::Data<KnownPaths>) -> HttpResponse {
    match known.methods_of(req.path()) {
        Some(methods) if !methods.contains(req.method()) => {
            let allow = methods
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            let mut response = Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("this path accepts {allow}"),
            )
            .into_response();
            if let Ok(value) = header::HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
        _ => Problem::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            "no route matches this path",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_whole_segments() {
        let known = KnownPaths(vec![
            (segments("/api/v1/challenges/{id}"), vec![Method::GET]),
            (segments("/healthz"), vec![Method::GET, Method::HEAD]),
        ]);
        assert_eq!(
            known.methods_of("/api/v1/challenges/42"),
            Some(&[Method::GET][..])
        );
        assert!(known.methods_of("/api/v1/challenges/42/x").is_none());
        assert!(known.methods_of("/api/v1/challenges/").is_none());
        assert!(known.methods_of("/healthz").is_some());
    }
}
