//! Headers every answer carries, and those every HTML answer carries, set in one place
//! (a middleware) rather than by each handler that renders a page.
//!
//! - Every answer: `X-Content-Type-Options: nosniff` (a JSON or CSV answer is never run as
//!   a script or a page) and `Referrer-Policy: no-referrer` (a share link's URL never
//!   leaves in a `Referer`).
//! - Every HTML answer (certificates, digests, share pages, their error pages, the API
//!   docs): a `Content-Security-Policy` that allows no script and no outside resource,
//!   with `frame-ancestors 'none'` (and `X-Frame-Options: DENY` for older browsers), so a
//!   page cannot be framed, and a name that slipped through escaping still cannot run.
//!   The pages use inline styles only; the Swagger UI at `/docs/` loads its own scripts
//!   and styles from this server, and gets a policy that allows exactly those.
//! - A handler that sets one of these itself keeps its own value.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// The policy of the pages Podium renders: inline styles and nothing else.
pub const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The policy of the Swagger UI: its own scripts, styles and images, and calls to this
/// server ("Try it out").
pub const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn set_if_absent(headers: &mut header::HeaderMap, name: HeaderName, value: &'static str) {
    if !headers.contains_key(&name) {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// The middleware.
pub async fn secure(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let docs = req.path().starts_with("/docs");
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    set_if_absent(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_if_absent(headers, header::REFERRER_POLICY, "no-referrer");
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    if html {
        let policy = if docs { DOCS_POLICY } else { PAGE_POLICY };
        set_if_absent(headers, header::CONTENT_SECURITY_POLICY, policy);
        set_if_absent(headers, header::X_FRAME_OPTIONS, "DENY");
    }
    Ok(response)
}
