//! Logging: `tracing` events as text or JSON lines on stderr, filtered by the configured
//! level. Each request runs in a span with its own `request_id` (tracing-actix-web), also
//! sent back as the `X-Request-Id` header.
//!
//! The request span ([`RedactedSpan`]) records the path and query with their secrets
//! replaced by `[redacted]`: a share page's token (anyone holding its URL sees the
//! results until it expires), and the value of any query parameter whose name says it
//! is a secret (`token`, `access_token`, `refresh_token`, `client_secret`, `password`,
//! `secret`, `signature`, `key`, `code`). Bodies and headers are never logged.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::HttpMessage;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::EnvFilter;

/// What a secret is replaced with in the log.
pub const REDACTED: &str = "[redacted]";

/// Path prefixes whose next segment is a bearer secret.
const SECRET_SEGMENTS: &[&str] = &["/share/"];

/// Query parameters whose value is a secret.
const SECRET_PARAMETERS: &[&str] = &[
    "token",
    "access_token",
    "refresh_token",
    "client_secret",
    "password",
    "secret",
    "signature",
    "key",
    "code",
];

/// `path?query` as the log may show it.
pub fn redact_target(target: &str) -> String {
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let mut out = String::with_capacity(target.len());
    let mut rest = path;
    while let Some((prefix, at)) = SECRET_SEGMENTS
        .iter()
        .filter_map(|prefix| rest.find(prefix).map(|at| (prefix, at)))
        .min_by_key(|(_, at)| *at)
    {
        let start = at + prefix.len();
        out.push_str(&rest[..start]);
        let end = rest[start..].find('/').map_or(rest.len(), |i| start + i);
        if end > start {
            out.push_str(REDACTED);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| {
                let name = pair.split_once('=').map_or(pair, |(name, _)| name);
                let secret = SECRET_PARAMETERS
                    .iter()
                    .any(|s| name.eq_ignore_ascii_case(s));
                if secret && pair.contains('=') {
                    format!("{name}={REDACTED}")
                } else {
                    pair.to_owned()
                }
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out
}

/// The request span: tracing-actix-web's fields, with the target redacted.
pub struct RedactedSpan;

impl RootSpanBuilder for RedactedSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "default".to_owned());
        let target = request
            .uri()
            .path_and_query()
            .map_or_else(String::new, |p| redact_target(p.as_str()));
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let user_agent = request
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let client_ip = request
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %target,
            http.client_ip = %client_ip,
            http.user_agent = %user_agent,
            http.status_code = tracing::field::Empty,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Installs the global subscriber; called once by `main`, never by the library.
pub fn init(level: &str, format: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file or collector gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // One line per request when its span closes: method, route, status, request id
        // and time taken, which makes the access log.
        .with_span_events(FmtSpan::CLOSE);
    let result = if format.eq_ignore_ascii_case("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if let Err(e) = result {
        eprintln!("logging was already initialised: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_tokens_and_secret_parameters_are_redacted() {
        assert_eq!(
            redact_target("/share/eyJhbGci.eyJzdWIi.c2ln"),
            "/share/[redacted]"
        );
        assert_eq!(
            redact_target("/share/eyJ.x.y/extra?format=html"),
            "/share/[redacted]/extra?format=html"
        );
        assert_eq!(
            redact_target("/api/v1/x?limit=5&refresh_token=prt_abc&Token=t&keys=k"),
            "/api/v1/x?limit=5&refresh_token=[redacted]&Token=[redacted]&keys=k"
        );
        assert_eq!(redact_target("/share/"), "/share/");
        assert_eq!(
            redact_target("/api/v1/challenges/42/standings?limit=10"),
            "/api/v1/challenges/42/standings?limit=10"
        );
    }
}
