//! Passwords and API-client secrets: generated with the OS random source, stored only as
//! Argon2id hashes (the `argon2` crate's defaults, OWASP's recommended parameters).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::distr::{Alphanumeric, SampleString};

use crate::error::AppError;

/// A random string of `len` letters and digits.
pub fn random_token(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// Hashes a password or secret for storage.
pub fn hash(secret: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(anyhow::anyhow!("password hashing failed: {e}")))
}

/// Whether `secret` matches a stored hash. A malformed stored hash never matches.
pub fn verify(secret: &str, stored_hash: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of one verification, so that an unknown account answers as slowly as
/// a wrong password and response times do not reveal which accounts exist.
pub fn verify_against_nothing(secret: &str) {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Xo5ZkuXOuDrwLwxRCsYRFdZdMNu7ER+SQIoXIfFGQY";
    let _ = verify(secret, DUMMY);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_secret() {
        let stored = hash("correct horse battery staple").expect("hashed");
        assert!(verify("correct horse battery staple", &stored));
        assert!(!verify("wrong", &stored));
        assert!(!verify("anything", "not-a-hash"));
    }

    #[test]
    fn random_tokens_differ() {
        assert_ne!(random_token(32), random_token(32));
        assert_eq!(random_token(20).len(), 20);
    }
}
