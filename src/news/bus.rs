//! Wakes the live streams and the news watcher when a challenge has news or new
//! standings.
//!
//! In one process, a broadcast channel of challenge ids, published by the standings
//! engine as it applies the change log. Across API instances on one PostgreSQL database,
//! [`spawn_listener`] keeps a connection that `LISTEN`s on the change log's channel and
//! wakes this instance's engine, which reads the log; a lost notification (the
//! connection killed, say) only delays that by one poll of the log. A signal only says
//! "look again": a stream re-reads, within its caller's view, what changed, so a lost or
//! repeated signal never shows anyone what they may not see.

use std::sync::{Arc, Weak};

use crate::challenges::engine::Engine;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::Connection;
use tokio::sync::broadcast;
use uuid::Uuid;

/// How many signals a slow stream may fall behind before it is told it lagged (it then
/// re-reads everything it shows).
const CAPACITY: usize = 1024;

/// How often the listener reads what PostgreSQL sent, and checks its connection.
const POLL: Duration = Duration::from_millis(200);
const PING: Duration = Duration::from_secs(10);

pub struct EventBus {
    sender: broadcast::Sender<Uuid>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
        }
    }
}

impl EventBus {
    /// Tells this instance's streams that a challenge changed.
    pub fn publish(&self, challenge_id: Uuid) {
        // No receiver is not an error: nobody is watching.
        let _ = self.sender.send(challenge_id);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.sender.subscribe()
    }
}

/// Wakes `engine` on each PostgreSQL change notification until the engine is dropped
/// (the server stopped). Reconnects with backoff when the connection is lost.
pub fn spawn_listener(engine: Arc<Engine>, url: String) -> std::io::Result<()> {
    let engine = Arc::downgrade(&engine);
    std::thread::Builder::new()
        .name("podium-listen".into())
        .spawn(move || {
            let mut backoff = Duration::from_millis(500);
            while engine.strong_count() > 0 {
                match listen(&engine, &url) {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "news listener lost PostgreSQL; reconnecting");
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                    }
                }
            }
        })
        .map(|_| ())
}

/// Listens until the engine is gone (`Ok`) or the connection fails (`Err`).
fn listen(engine: &Weak<Engine>, url: &str) -> anyhow::Result<()> {
    let mut conn = diesel::PgConnection::establish(url)?;
    conn.batch_execute(&format!("LISTEN {}", crate::models::change::CHANNEL))?;
    tracing::debug!("change listener is listening");
    let mut pinged = Instant::now();
    loop {
        let Some(engine) = engine.upgrade() else {
            return Ok(());
        };
        let mut notified = false;
        for notification in conn.notifications_iter() {
            notification?;
            notified = true;
        }
        if notified {
            engine.wake();
        }
        drop(engine);
        if pinged.elapsed() >= PING {
            conn.batch_execute("SELECT 1")?;
            pinged = Instant::now();
        }
        std::thread::sleep(POLL);
    }
}

/// A bus shared by the app data and the background tasks.
pub fn shared() -> Arc<EventBus> {
    Arc::new(EventBus::default())
}
