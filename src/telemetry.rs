//! Logging: `tracing` events as text or JSON lines on stderr, filtered by the configured
//! level. Each request runs in a span with its own `request_id` (tracing-actix-web), also
//! sent back as the `X-Request-Id` header.

use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; called once by `main`, never by the library.
pub fn init(level: &str, format: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
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
