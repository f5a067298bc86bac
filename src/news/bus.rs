//! Wakes the live streams when a challenge has news or new standings.
//!
//! In one process, a broadcast channel of challenge ids. Across API instances on one
//! PostgreSQL database, [`spawn_listener`] keeps a connection that `LISTEN`s on
//! [`super::CHANNEL`] (which [`super::record`] notifies in its transaction) and forwards
//! what arrives to this instance's channel. A signal only says "look again": a stream
//! re-reads, within its caller's view, what changed, so a lost or repeated signal never
//! shows anyone what they may not see.

use std::sync::{Arc, Weak};
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

/// Forwards PostgreSQL notifications to `bus` until the bus is dropped (the server
/// stopped). Reconnects with backoff when the connection is lost.
pub fn spawn_listener(bus: Weak<EventBus>, url: String) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("podium-listen".into())
        .spawn(move || {
            let mut backoff = Duration::from_millis(500);
            while bus.strong_count() > 0 {
                match listen(&bus, &url) {
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

/// Listens until the bus is gone (`Ok`) or the connection fails (`Err`).
fn listen(bus: &Weak<EventBus>, url: &str) -> anyhow::Result<()> {
    let mut conn = diesel::PgConnection::establish(url)?;
    conn.batch_execute(&format!("LISTEN {}", super::CHANNEL))?;
    tracing::debug!("news listener is listening");
    let mut pinged = Instant::now();
    loop {
        let Some(bus) = bus.upgrade() else {
            return Ok(());
        };
        for notification in conn.notifications_iter() {
            let notification = notification?;
            match Uuid::parse_str(&notification.payload) {
                Ok(id) => bus.publish(id),
                Err(_) => tracing::warn!(payload = %notification.payload, "unreadable news signal"),
            }
        }
        drop(bus);
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
