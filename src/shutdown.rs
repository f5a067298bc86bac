//! Stopping the server: a signal (SIGTERM, SIGINT) or [`Stopper::stop`] tells every live
//! stream first, then stops the HTTP server gracefully.
//!
//! A stream never finishes on its own, so a graceful stop used to wait the whole
//! `PODIUM_SHUTDOWN_TIMEOUT_SECONDS` whenever one was open, then cut it mid-response. Now
//! each stream ends at once with a last `event: reconnect` (and an SSE `retry:` of one
//! second), which `EventSource` clients follow by reconnecting, to another instance or to
//! this one once it is back, resuming with `Last-Event-ID`. The server then only waits for
//! the requests in flight, writes included, which finish normally.

use actix_web::dev::ServerHandle;
use tokio::sync::watch;

/// Whether the server is stopping; registered as app data, cheap to clone.
#[derive(Clone)]
pub struct Shutdown {
    sender: std::sync::Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self {
            sender: std::sync::Arc::new(watch::channel(false).0),
        }
    }
}

impl Shutdown {
    /// A receiver that sees the stop (`changed()` completes, then the value is `true`).
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.sender.subscribe()
    }

    /// Tells every subscriber the server is stopping.
    pub fn begin(&self) {
        self.sender.send_replace(true);
    }
}

/// Stops a running server the way a signal does.
#[derive(Clone)]
pub struct Stopper {
    pub(crate) shutdown: Shutdown,
    pub(crate) handle: ServerHandle,
}

impl Stopper {
    /// Ends the streams, then stops the server once the requests in flight are done (at
    /// most the shutdown timeout).
    pub async fn stop(&self) {
        tracing::info!("stopping: closing live streams, finishing requests in flight");
        self.shutdown.begin();
        self.handle.stop(true).await;
    }

    /// Stops on the first SIGTERM or SIGINT.
    pub async fn on_signal(self) {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::error!("cannot listen for SIGTERM/SIGINT");
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
        }
        self.stop().await;
    }
}
