//! Webhooks: news pushed to subscribers' URLs, signed, retried, recorded.
//!
//! [`enqueue`] runs inside [`crate::news::record`]'s transaction: one delivery row per
//! active subscription that wants the kind and may see the item (an admin's sees
//! everything; a partner's only what that partner would see through the API). The
//! [`dispatch`]er sends due deliveries, signs each attempt with the subscription's secret
//! ([`signature`]) and schedules failures again with exponential [`backoff`] until the
//! last attempt.

pub mod dispatch;

use std::net::IpAddr;
use std::time::Duration;

use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::db::DbConnection;
use crate::error::AppError;
use crate::models::news::{Audience, NewsRow};
use crate::models::webhook::{self, DeliveryRow, WebhookRow};

/// `Podium-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub const SIGNATURE_HEADER: &str = "podium-signature";

/// The signature of one attempt: HMAC-SHA256 keyed by the secret over the timestamp, a
/// dot and the exact body bytes, in lowercase hex.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The header value for one attempt.
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", signature(secret, timestamp, body))
}

/// How long to wait after the `attempts`-th failed attempt: `base`, doubling each time,
/// at most an hour.
pub fn backoff(attempts: i32, base: Duration) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    base.saturating_mul(2u32.saturating_pow(doublings))
        .min(Duration::from_secs(3600))
}

/// Whether a webhook must not reach this address unless private networks are allowed
/// (`PODIUM_WEBHOOK_ALLOW_PRIVATE_NETWORKS`): loopback, private, link-local, shared
/// (100.64/10), unspecified, broadcast, multicast and documentation ranges, IPv6 unique-local
/// and link-local, and IPv4 addresses written as IPv6. A partner's URL must not become a
/// way into the network Podium runs in.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            let embedded = |high: u16, low: u16| {
                let [h1, h2] = high.to_be_bytes();
                let [l1, l2] = low.to_be_bytes();
                IpAddr::V4(std::net::Ipv4Addr::new(h1, h2, l1, l2))
            };
            // IPv4 written as IPv6 (mapped, compatible), NAT64 and 6to4: the IPv4 decides.
            if let Some(v4) = v6.to_ipv4() {
                if !v6.is_loopback() && !v6.is_unspecified() {
                    return is_internal(IpAddr::V4(v4));
                }
            }
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_internal(embedded(segments[6], segments[7]));
            }
            if segments[0] == 0x2002 {
                return is_internal(embedded(segments[1], segments[2]));
            }
            let first = segments[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// The kinds a subscription wants; empty means all.
pub fn kinds_of(row: &WebhookRow) -> Vec<String> {
    serde_json::from_str(&row.kinds).unwrap_or_default()
}

/// Whether a subscription gets a news item: it wants the kind, and its owner may see it.
pub fn wants(row: &WebhookRow, news: &NewsRow) -> bool {
    let kinds = kinds_of(row);
    if !kinds.is_empty() && !kinds.contains(&news.kind) {
        return false;
    }
    let audience = match row.organisation_id.as_deref().map(Uuid::parse_str) {
        None => Audience::Everything,
        Some(Ok(org)) => Audience::Organisation(org),
        // An unreadable scope sees nothing rather than everything.
        Some(Err(_)) => return false,
    };
    audience.sees(news, false)
}

/// Writes a pending delivery of `news` for every subscription that gets it.
pub fn enqueue(
    conn: &mut DbConnection,
    news: &NewsRow,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    for hook in webhook::active(conn)? {
        if !wants(&hook, news) {
            continue;
        }
        webhook::insert_delivery(
            conn,
            &DeliveryRow {
                id: Uuid::now_v7().to_string(),
                webhook_id: hook.id.clone(),
                news_id: news.id,
                kind: news.kind.clone(),
                status: "pending".into(),
                attempts: 0,
                next_attempt_at: Some(now),
                last_attempt_at: None,
                last_status_code: None,
                last_error: None,
                delivered_at: None,
                replays: 0,
                created_at: now,
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // RFC 4231 test case 2 gives HMAC-SHA256("Jefe", "what do ya want for nothing?").
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac.finalize().into_bytes()), expected);
        // Ours signs "<t>.<body>": the same construction, so a receiver can check it
        // with any HMAC library.
        let ours = signature("Jefe", 1_700_000_000, b"{}");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"1700000000.{}");
        assert_eq!(ours, hex::encode(mac.finalize().into_bytes()));
        assert_ne!(ours, signature("Jefe", 1_700_000_001, b"{}"));
        assert_ne!(ours, signature("other", 1_700_000_000, b"{}"));
        assert_eq!(
            signature_header("Jefe", 1_700_000_000, b"{}"),
            format!("t=1700000000,v1={ours}")
        );
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "::10.0.0.1",
            "64:ff9b::7f00:1",
            "2002:a00:1::",
            "240.0.0.1",
            "::",
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(
                is_internal(internal.parse().expect("an address")),
                "{internal}"
            );
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "100.128.0.1",
            "64:ff9b::808:808",
            "2002:808:808::",
        ] {
            assert!(
                !is_internal(public.parse().expect("an address")),
                "{public}"
            );
        }
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(2);
        assert_eq!(backoff(1, base), Duration::from_secs(2));
        assert_eq!(backoff(2, base), Duration::from_secs(4));
        assert_eq!(backoff(5, base), Duration::from_secs(32));
        assert_eq!(backoff(40, base), Duration::from_secs(3600));
        assert_eq!(backoff(0, base), Duration::from_secs(2));
    }

    fn hook(kinds: &str, organisation: Option<Uuid>) -> WebhookRow {
        let now = crate::models::now();
        WebhookRow {
            id: Uuid::new_v4().to_string(),
            url: "http://127.0.0.1:9/".into(),
            kinds: kinds.into(),
            description: String::new(),
            organisation_id: organisation.map(|o| o.to_string()),
            secret: "s".into(),
            active: true,
            created_by: Uuid::new_v4().to_string(),
            created_at: now,
            updated_at: now,
        }
    }

    fn news(kind: &str, organisation: Option<Uuid>) -> NewsRow {
        NewsRow {
            id: 1,
            kind: kind.into(),
            challenge_id: Uuid::new_v4().to_string(),
            entrant_id: organisation.map(|_| Uuid::new_v4().to_string()),
            entrant_name: None,
            region_id: None,
            organisation_id: organisation.map(|o| o.to_string()),
            award_id: None,
            message: String::new(),
            details: "{}".into(),
            occurred_at: crate::models::now(),
            dedupe_key: None,
        }
    }

    #[test]
    fn a_partner_subscription_gets_only_its_organisations_news() {
        let mine = Uuid::new_v4();
        let theirs = Uuid::new_v4();
        let partner = hook("[]", Some(mine));
        assert!(wants(&partner, &news("leader_changed", Some(mine))));
        assert!(!wants(&partner, &news("leader_changed", Some(theirs))));
        assert!(wants(&partner, &news("challenge_started", None)));
        let admin = hook("[]", None);
        assert!(wants(&admin, &news("leader_changed", Some(theirs))));
    }

    #[test]
    fn a_subscription_gets_only_the_kinds_it_wants() {
        let only = hook(r#"["challenge_closed"]"#, None);
        assert!(wants(&only, &news("challenge_closed", None)));
        assert!(!wants(&only, &news("challenge_started", None)));
    }
}
