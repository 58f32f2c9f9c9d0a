//! Staff passwords hashed with Argon2id (the `argon2` crate's default parameters, a random salt
//! per password, PHC strings), computed on tokio's blocking pool: a hash takes tens of
//! milliseconds of CPU that would otherwise stall every request on that worker thread.

use std::sync::Arc;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use async_trait::async_trait;
use telmail_core::ports::{HashingFailed, PasswordHashing};

/// Argon2id with the crate's default (OWASP-recommended) parameters.
pub struct Argon2Passwords {
    /// Checked when there is no account, so that refusal takes as long as a real one.
    dummy: Arc<str>,
}

impl Argon2Passwords {
    /// Hashes the stand-in password once.
    pub fn new() -> Result<Self, PasswordError> {
        Ok(Self {
            dummy: hash("telmail-dummy-password")?.into(),
        })
    }
}

/// Argon2 could not hash (a parameter out of range: a bug, not a user's mistake).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordError(argon2::password_hash::Error);

fn hash(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(PasswordError)
}

fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

#[async_trait]
impl PasswordHashing for Argon2Passwords {
    async fn hash(&self, password: &str) -> Result<String, HashingFailed> {
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash(&password))
            .await
            .map_err(|e| HashingFailed(format!("password hashing stopped: {e}")))?
            .map_err(|e| HashingFailed(e.to_string()))
    }

    async fn verify(&self, password: &str, phc: Option<&str>) -> bool {
        let known = phc.is_some();
        let phc: Arc<str> = phc.map_or_else(|| self.dummy.clone(), Arc::from);
        let password = password.to_owned();
        // A check that could not run (the blocking pool shut down) is a refusal.
        let matches = tokio::task::spawn_blocking(move || verify(&password, &phc))
            .await
            .unwrap_or(false);
        known && matches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_are_salted_and_verified() {
        let p = Argon2Passwords::new().unwrap();
        let a = p.hash("un mot de passe solide").await.unwrap();
        let b = p.hash("un mot de passe solide").await.unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(p.verify("un mot de passe solide", Some(&a)).await);
        assert!(!p.verify("un autre", Some(&a)).await);
        assert!(!p.verify("x", Some("not a hash")).await);
        assert!(!p.verify("telmail-dummy-password", None).await);
    }
}
