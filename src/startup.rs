//! Building the running server from [`Settings`]: connect and migrate the database, make
//! sure there is a first admin, load the signing secret, bind, and assemble the actix
//! `App` (middleware, extractor error handlers, API routes, OpenAPI and Swagger UI).
//!
//! `main` and the integration tests both call [`Application::build`]; tests bind port 0
//! and read the port back, so each starts the real server on its own database.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{from_fn, ErrorHandlerResponse, ErrorHandlers, Next};
use actix_web::{web, App, HttpMessage, HttpRequest, HttpServer};
use tracing_actix_web::{RequestId, TracingLogger};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::api;
use crate::audit::{self, Action, Actor};
use crate::auth::jwt::{self, TokenIssuer};
use crate::auth::throttle::SignInThrottle;
use crate::auth::{secrets, LiveSessions, Role};
use crate::challenges::engine::Engine;
use crate::db::{DatabaseUrl, DbConnection, Pool};
use crate::error::{AppError, Problem, PROBLEM_JSON};
use crate::ingestion::IngestionLock;
use crate::models::{now, user};
use crate::rules::RuleRunner;
use crate::settings::Settings;
use crate::{news, webhooks};

/// Largest body accepted, in bytes: a batch of 10,000 sale lines fits with room to spare.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// A bound, running server.
pub struct Application {
    port: u16,
    server: Server,
    engine: Arc<Engine>,
    shutdown: crate::shutdown::Shutdown,
}

impl Application {
    /// Prepares the database and binds the listener; the server runs once awaited.
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        let url = DatabaseUrl::parse(&settings.database_url);
        let secret = jwt::resolve_secret(&settings, &url)?;
        let issuer = web::Data::new(TokenIssuer::new(&secret, &settings)?);
        let pool = prepare_database(&settings)?;
        let backend = pool.backend().clone();
        let pool = web::Data::new(pool);
        let url = web::Data::new(url);
        let ingestion_lock = web::Data::new(IngestionLock::default());
        let rule_runner = web::Data::new(RuleRunner::new(
            settings.rule_limits(),
            settings.rule_concurrency(),
        ));
        let sessions = web::Data::new(LiveSessions::new(Duration::from_secs(
            settings.auth_recheck_seconds,
        )));
        let throttle = web::Data::new(SignInThrottle::from_settings(&settings));
        let bus = news::bus::shared();
        let engine = web::Data::from(Engine::start(
            pool.get_ref().clone(),
            rule_runner.clone().into_inner(),
            bus.clone(),
            Duration::from_millis(settings.change_poll_ms.max(5)),
        )?);
        spawn_background(&settings, &pool, &engine, &bus, &url)?;
        let metrics = web::Data::new(crate::metrics::Metrics::new(
            rule_runner
                .metrics()
                .collectors()
                .into_iter()
                .chain(engine.collectors())
                .collect(),
        )?);
        let bus = web::Data::from(bus);
        let settings_data = web::Data::new(settings.clone());
        let shutdown = crate::shutdown::Shutdown::default();
        let shutdown_data = web::Data::new(shutdown.clone());
        let document = api::openapi();
        let known_paths = web::Data::new(api::routes::KnownPaths::from_document(&document));
        let origins = settings.cors_origin_list();

        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let engine_of_app = engine.clone().into_inner();
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(crate::auth::resolve_caller))
                .wrap(ErrorHandlers::new().default_handler(problem_for_bare_errors))
                .wrap(cors(&origins))
                .wrap(from_fn(api::consistency::stamp_writes))
                .wrap(from_fn(request_id_header))
                .wrap(from_fn(api::security_headers::secure))
                .wrap(from_fn(crate::metrics::measure))
                .wrap(TracingLogger::<crate::telemetry::RedactedSpan>::new())
                .app_data(json_config())
                .app_data(web::PayloadConfig::new(BODY_LIMIT))
                .app_data(query_config())
                .app_data(path_config())
                .app_data(pool.clone())
                .app_data(issuer.clone())
                .app_data(url.clone())
                .app_data(engine.clone())
                .app_data(ingestion_lock.clone())
                .app_data(rule_runner.clone())
                .app_data(sessions.clone())
                .app_data(throttle.clone())
                .app_data(bus.clone())
                .app_data(settings_data.clone())
                .app_data(shutdown_data.clone())
                .app_data(metrics.clone())
                .into_utoipa_app()
                .configure(api::configure)
                .into_app()
                .service(
                    SwaggerUi::new("/docs/{_:.*}")
                        .external_url_unchecked("/openapi.json", document.clone()),
                )
                .service(web::redirect("/docs", "/docs/"))
                .app_data(known_paths.clone())
                .default_service(web::to(api::routes::not_routed))
        })
        .listen(listener)?
        // Signals are handled by `shutdown::Stopper`, which closes the streams first.
        .disable_signals()
        .shutdown_timeout(settings.shutdown_timeout_seconds);
        if settings.workers > 0 {
            server = server.workers(settings.workers);
        }
        tracing::info!(port, ?backend, "podium is listening");
        Ok(Self {
            port,
            server: server.run(),
            engine: engine_of_app,
            shutdown,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The instance's standings engine (tests wait on it for the writes they made).
    pub fn engine(&self) -> Arc<Engine> {
        Arc::clone(&self.engine)
    }

    /// A handle to stop the server from elsewhere (tests).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Stops the server as SIGTERM does: streams end at once with a `reconnect` event,
    /// then the requests in flight finish.
    pub fn stopper(&self) -> crate::shutdown::Stopper {
        crate::shutdown::Stopper {
            shutdown: self.shutdown.clone(),
            handle: self.server.handle(),
        }
    }

    /// Serves until SIGINT/SIGTERM (or a [`Application::stopper`]), then lets in-flight
    /// requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        actix_web::rt::spawn(self.stopper().on_signal());
        self.server.await
    }
}

/// Starts what runs beside the HTTP server: the news watcher, the webhook dispatcher and,
/// on PostgreSQL, the listener that brings other instances' news to this one's streams.
/// They stop with the server's runtime (the listener when the bus is dropped).
fn spawn_background(
    settings: &Settings,
    pool: &web::Data<Pool>,
    engine: &web::Data<Engine>,
    bus: &std::sync::Arc<news::bus::EventBus>,
    url: &web::Data<DatabaseUrl>,
) -> anyhow::Result<()> {
    let watcher = news::watch::Watcher {
        pool: pool.get_ref().clone(),
        engine: engine.clone().into_inner(),
        bus: bus.clone(),
        settings: settings.watch_settings(),
    };
    actix_web::rt::spawn(watcher.run());
    let dispatcher = webhooks::dispatch::Dispatcher::new(
        pool.get_ref().clone(),
        bus.clone(),
        settings.delivery_settings(),
    )?;
    actix_web::rt::spawn(dispatcher.run());
    if let DatabaseUrl::Postgres(address) = url.get_ref() {
        news::bus::spawn_listener(engine.clone().into_inner(), address.clone())?;
    }
    Ok(())
}

/// Connects to the configured database, applies pending migrations and makes sure there
/// is a first admin: what every command that touches the database does first.
pub fn prepare_database(settings: &Settings) -> anyhow::Result<Pool> {
    let url = DatabaseUrl::parse(&settings.database_url);
    let pool = Pool::connect(
        &url,
        settings.db_pool_size,
        Duration::from_secs(settings.db_timeout_seconds),
    )?;
    let mut conn = pool.get()?;
    conn.run_migrations()?;
    ensure_first_admin(&mut conn, settings)?;
    if url.backend() == crate::db::Backend::Sqlite {
        // One process owns a SQLite database: the requests of the last one are all gone.
        let released = crate::models::idempotency::release_all_in_flight(&mut conn)?;
        if released > 0 {
            tracing::info!(released, "released the idempotency claims of the last run");
        }
    }
    Ok(pool)
}

/// On an empty database, creates the first admin from `PODIUM_ADMIN_EMAIL` and
/// `PODIUM_ADMIN_PASSWORD`, or with a generated password printed once.
fn ensure_first_admin(conn: &mut DbConnection, settings: &Settings) -> anyhow::Result<()> {
    if user::count(conn)? > 0 {
        return Ok(());
    }
    let generated = settings.admin_password.is_empty();
    let password = if generated {
        secrets::random_token(20)
    } else {
        settings.admin_password.expose().to_owned()
    };
    let new = user::NewUser {
        id: uuid::Uuid::new_v4().to_string(),
        email: settings.admin_email.to_lowercase(),
        display_name: "Administrator".into(),
        password_hash: secrets::hash(&password).map_err(|e| anyhow::anyhow!("{e}"))?,
        role: Role::Admin.as_str().into(),
        region_id: None,
        participant_id: None,
        organisation_id: None,
        active: true,
        created_at: now(),
    };
    // The server itself creates it, in the audit log too.
    let created = audit::write(
        conn,
        &Actor::system(),
        Action::UserCreated,
        |conn, entry| {
            let row = user::insert(conn, &new)?;
            entry.object(&row.id).after(&row)?;
            Ok(())
        },
    );
    match created {
        Ok(()) => {}
        // Another instance starting on the same database created it first.
        Err(e) if e.code() == "already_exists" => return Ok(()),
        Err(e) => return Err(anyhow::anyhow!("creating the first admin failed: {e}")),
    }
    if generated {
        eprintln!(
            "\n  Created the first admin: {}\n  Generated password (shown once): {password}\n",
            new.email
        );
    }
    tracing::info!(email = %new.email, "created the first admin");
    Ok(())
}

fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .allowed_header(HeaderName::from_static("idempotency-key"))
        .allowed_header(HeaderName::from_static("podium-min-change"))
        .expose_headers([
            header::LOCATION,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("x-total-count"),
            HeaderName::from_static("podium-change"),
        ])
        .max_age(3600)
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(BODY_LIMIT)
        .error_handler(|error, _req: &HttpRequest| {
            match error {
                JsonPayloadError::ContentType => AppError::UnsupportedMediaType(
                    "the body must be JSON (Content-Type: application/json)".into(),
                ),
                JsonPayloadError::Overflow { limit }
                | JsonPayloadError::OverflowKnownLength { limit, .. } => {
                    AppError::PayloadTooLarge(format!("the body is larger than {limit} bytes"))
                }
                JsonPayloadError::Deserialize(e) => {
                    AppError::bad_request("invalid_body", format!("the body cannot be read: {e}"))
                }
                other => AppError::bad_request(
                    "invalid_body",
                    format!("the body cannot be read: {other}"),
                ),
            }
            .into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error: QueryPayloadError, _req: &HttpRequest| {
        let detail = match error {
            QueryPayloadError::Deserialize(e) => format!("the query string cannot be read: {e}"),
            other => format!("the query string cannot be read: {other}"),
        };
        AppError::bad_request("invalid_query", detail).into()
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error: PathError, _req: &HttpRequest| {
        let detail = match error {
            PathError::Deserialize(e) => format!("the path is invalid: {e}"),
            other => format!("the path is invalid: {other}"),
        };
        AppError::bad_request("invalid_path", detail).into()
    })
}

/// Echoes the request id of the log span as `X-Request-Id`, so a client can quote it.
async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req.extensions().get::<RequestId>().copied();
    let mut response = next.call(req).await?;
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id.to_string()).ok()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}

/// Gives a problem+json body to errors produced outside our handlers (unknown route,
/// wrong method, CORS refusal), so that every 4xx and 5xx has the same shape.
fn problem_for_bare_errors<B>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // Problems, and the pages that answer browsers with their own error page (an expired
    // share link), are left as they are.
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(PROBLEM_JSON.as_bytes())
                || v.as_bytes().starts_with(b"text/html")
        });
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let status = response.status();
    let (code, detail) = match status.as_u16() {
        404 => ("route_not_found", "no route matches this path"),
        405 => (
            "method_not_allowed",
            "this path does not accept this method",
        ),
        _ if status.is_server_error() => (
            "internal_error",
            "an unexpected error occurred; it has been logged",
        ),
        _ => ("http_error", status.canonical_reason().unwrap_or("error")),
    };
    let (request, _) = response.into_parts();
    let body = Problem::new(status, code, detail).into_response();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(request, body).map_into_right_body(),
    ))
}
