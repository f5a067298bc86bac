//! Throttling sign-in: a budget of attempts per account and another per client address,
//! each a GCRA bucket from `governor` (a burst, then one attempt back every so many
//! seconds).
//!
//! Decisions:
//! - Every attempt counts, right or wrong, and it is counted before the credentials are
//!   looked at, so that a throttled answer is the same, and as fast, for an account that
//!   exists and one that does not. Counting only failures would need a look before the
//!   count, which `governor` does not offer, and a person rarely signs in five times a
//!   minute.
//! - The account budget is keyed by the e-mail as written, lower-cased, and applies to
//!   the password grant only. Client secrets and refresh tokens are 256-bit random values
//!   that no budget makes easier to guess; the address budget still bounds how fast one
//!   host may try them.
//! - The buckets live in the instance's memory: with several instances, the budget of an
//!   account is that many times larger. Being refused is never stored, so a restart
//!   forgets it; an attacker gains a burst per restart, which is an operator's decision.
//! - The address is the TCP peer unless `PODIUM_TRUST_FORWARDED_FOR` says a proxy in
//!   front sets `Forwarded`/`X-Forwarded-For`.
//! - Both maps are bounded: past [`MAX_KEYS`] keys, those whose bucket is full again are
//!   dropped (`retain_recent`), which forgets nothing a limit still needs.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::settings::Settings;

/// Keys each map holds before it drops the ones it no longer needs.
const MAX_KEYS: usize = 50_000;

/// One budget: how many attempts at once, and the time that gives one back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub burst: u32,
    pub refill: Duration,
}

impl Budget {
    fn quota(self) -> Quota {
        let burst = NonZeroU32::new(self.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(self.refill.max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst)
    }
}

/// The two sign-in budgets of one instance; registered as app data.
pub struct SignInThrottle {
    accounts: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

/// A refused attempt: when the next one may come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after: Duration,
}

impl Throttled {
    /// Whole seconds for `Retry-After`, rounded up and at least 1.
    pub fn retry_after_seconds(self) -> u64 {
        let secs = self.retry_after.as_secs();
        let rounded = if self.retry_after.subsec_nanos() > 0 {
            secs + 1
        } else {
            secs
        };
        rounded.max(1)
    }
}

impl SignInThrottle {
    pub fn new(per_account: Budget, per_address: Budget) -> Self {
        let clock = DefaultClock::default();
        Self {
            accounts: RateLimiter::keyed(per_account.quota()),
            addresses: RateLimiter::keyed(per_address.quota()),
            clock,
        }
    }

    pub fn from_settings(settings: &Settings) -> Self {
        Self::new(
            Budget {
                burst: settings.sign_in_account_burst,
                refill: Duration::from_secs(settings.sign_in_account_refill_seconds),
            },
            Budget {
                burst: settings.sign_in_address_burst,
                refill: Duration::from_secs(settings.sign_in_address_refill_seconds),
            },
        )
    }

    /// Counts one attempt from `address` (when known) for `account` (when the grant names
    /// a person). The address is counted first, so that an address already refused does
    /// not spend the account's budget.
    pub fn attempt(&self, address: Option<IpAddr>, account: Option<&str>) -> Result<(), Throttled> {
        if let Some(address) = address {
            bound(&self.addresses);
            self.addresses
                .check_key(&address)
                .map_err(|not_until| Throttled {
                    retry_after: not_until.wait_time_from(self.clock.now()),
                })?;
        }
        if let Some(account) = account {
            bound(&self.accounts);
            self.accounts
                .check_key(&account.trim().to_lowercase())
                .map_err(|not_until| Throttled {
                    retry_after: not_until.wait_time_from(self.clock.now()),
                })?;
        }
        Ok(())
    }
}

fn bound<K: std::hash::Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>) {
    if limiter.len() > MAX_KEYS {
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(account_burst: u32, address_burst: u32) -> SignInThrottle {
        SignInThrottle::new(
            Budget {
                burst: account_burst,
                refill: Duration::from_secs(60),
            },
            Budget {
                burst: address_burst,
                refill: Duration::from_secs(60),
            },
        )
    }

    #[test]
    fn an_account_gets_its_burst_then_waits() {
        let throttle = throttle(3, 100);
        let here = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..3 {
            assert!(throttle.attempt(here, Some("ana@example.com")).is_ok());
        }
        let refused = throttle
            .attempt(here, Some("ANA@example.com "))
            .expect_err("the fourth attempt is refused, whatever the case");
        assert!(refused.retry_after <= Duration::from_secs(60));
        assert!(refused.retry_after_seconds() >= 1);
        assert!(
            throttle.attempt(here, Some("bea@example.com")).is_ok(),
            "another account has its own budget"
        );
    }

    #[test]
    fn an_address_gets_its_burst_across_accounts() {
        let throttle = throttle(100, 2);
        let here = Some(IpAddr::from([10, 0, 0, 1]));
        assert!(throttle.attempt(here, Some("a@x.test")).is_ok());
        assert!(throttle.attempt(here, None).is_ok());
        assert!(throttle.attempt(here, Some("c@x.test")).is_err());
        assert!(throttle
            .attempt(Some(IpAddr::from([10, 0, 0, 2])), Some("d@x.test"))
            .is_ok());
    }

    #[test]
    fn a_refused_address_does_not_spend_the_account() {
        let throttle = throttle(1, 1);
        let here = Some(IpAddr::from([10, 0, 0, 1]));
        assert!(throttle.attempt(here, None).is_ok());
        assert!(throttle.attempt(here, Some("a@x.test")).is_err());
        assert!(throttle
            .attempt(Some(IpAddr::from([10, 0, 0, 2])), Some("a@x.test"))
            .is_ok());
    }

    #[test]
    fn retry_after_rounds_up() {
        let wait = |ms| Throttled {
            retry_after: Duration::from_millis(ms),
        };
        assert_eq!(wait(0).retry_after_seconds(), 1);
        assert_eq!(wait(1_000).retry_after_seconds(), 1);
        assert_eq!(wait(1_001).retry_after_seconds(), 2);
    }
}
