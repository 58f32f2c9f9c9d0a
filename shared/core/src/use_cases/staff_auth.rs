//! Local staff sign-in: accounts, passwords checked with a lockout, server-side sessions; and
//! the local accounts as the staff directory. Only the embedded backend uses it: on AWS,
//! Cognito signs staff in.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::clock::Clock;
use crate::domain::staff::{
    check_password, Role, StaffAccount, StaffIdentity, StaffSession, MIN_PASSWORD_LEN,
};
use crate::error::{DomainError, FieldErrors, StoreError};
use crate::ports::{PasswordHashing, QuotaStore, StaffDirectory, StaffStore};

/// The local accounts as the staff directory: the enabled ones holding a role.
pub struct AccountDirectory(pub Arc<dyn StaffStore>);

#[async_trait::async_trait]
impl StaffDirectory for AccountDirectory {
    async fn holding(&self, role: Role) -> Result<Vec<StaffIdentity>, StoreError> {
        Ok(self
            .0
            .list_accounts()
            .await?
            .into_iter()
            .filter(|a| !a.disabled && a.identity.has(role))
            .map(|a| a.identity)
            .collect())
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a successful login gives the client.
#[derive(Debug, Clone)]
pub struct LoginGrant {
    /// The session cookie value (never stored in clear).
    pub session_token: String,
    /// The CSRF token to echo on state-changing requests.
    pub csrf_token: String,
    /// Who logged in.
    pub identity: StaffIdentity,
    /// Session lifetime.
    pub max_age: Duration,
}

/// Local staff authentication: accounts, login, sessions.
pub struct StaffAuth {
    store: Arc<dyn StaffStore>,
    /// Wrong passwords counted per account, atomically (concurrent guesses all count).
    quotas: Arc<dyn QuotaStore>,
    passwords: Arc<dyn PasswordHashing>,
    clock: Arc<dyn Clock>,
    session_ttl: Duration,
    /// Password checks admitted at once (running or waiting): past it, a sign-in is refused at
    /// once instead of queueing hashes in memory.
    admitted: Arc<Semaphore>,
    /// Password checks running at once (each costs an Argon2id hash).
    hashing: Arc<Semaphore>,
}

/// Wrong passwords an account takes before it is locked.
pub const LOCK_AFTER_FAILURES: u32 = 5;
/// The longest lock: each wrong password past [`LOCK_AFTER_FAILURES`] doubles it up to this.
const LONGEST_LOCK_MINUTES: i64 = 60;
/// Argon2id hashes computed at once.
const HASHES_AT_ONCE: usize = 2;
/// Sign-ins that may wait for a hash; more are refused at once.
const HASHES_WAITING: usize = 8;

/// How long an account stays locked after its `failures`-th wrong password in a row.
fn lock_for(failures: u32) -> Option<Duration> {
    let past = failures.checked_sub(LOCK_AFTER_FAILURES)?;
    let minutes = 1i64
        .checked_shl(past.min(16))
        .unwrap_or(i64::MAX)
        .min(LONGEST_LOCK_MINUTES);
    Some(Duration::minutes(minutes))
}

/// The French refusal of a locked account: when to try again, and who can unlock it.
fn locked(until: DateTime<Utc>, now: DateTime<Utc>) -> DomainError {
    let seconds = (until - now).num_seconds().max(1);
    let minutes = (seconds + 59) / 60;
    DomainError::TooManyAttempts(format!(
        "Ce compte est verrouillé après plusieurs mots de passe erronés : réessayez dans {minutes} min, \
         ou demandez à un administrateur de Télmail de le déverrouiller."
    ))
}

impl StaffAuth {
    /// Authentication over a store (wrong passwords counted in `quotas`); sessions last
    /// `session_ttl`.
    pub fn new(
        store: Arc<dyn StaffStore>,
        quotas: Arc<dyn QuotaStore>,
        passwords: Arc<dyn PasswordHashing>,
        clock: Arc<dyn Clock>,
        session_ttl: Duration,
    ) -> Self {
        Self {
            store,
            quotas,
            passwords,
            clock,
            session_ttl,
            admitted: Arc::new(Semaphore::new(HASHES_AT_ONCE + HASHES_WAITING)),
            hashing: Arc::new(Semaphore::new(HASHES_AT_ONCE)),
        }
    }

    /// Creates an account (the `staff add` command).
    pub async fn add_account(
        &self,
        identity: StaffIdentity,
        password: &str,
    ) -> Result<(), DomainError> {
        let mut errors = FieldErrors::new();
        let username_ok = (2..=64).contains(&identity.id.len())
            && identity
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_@".contains(c));
        if !username_ok {
            errors.add("username", "Identifiant invalide : 2 à 64 caractères parmi lettres, chiffres, « . », « - », « _ », « @ ».");
        }
        if password.chars().count() < MIN_PASSWORD_LEN {
            errors.add(
                "password",
                format!("Le mot de passe doit comporter au moins {MIN_PASSWORD_LEN} caractères."),
            );
        }
        if identity.roles.is_empty() {
            errors.add(
                "roles",
                "Indiquez au moins un rôle (redaction, cabinet, admin, accueil, service).",
            );
        }
        errors.into_result()?;
        let account = StaffAccount {
            identity,
            password_hash: self.hash(password).await?,
            created_at: self.clock.now(),
            disabled: false,
            locked_until: None,
            login_generation: 0,
        };
        match self.store.create_account(&account).await {
            Err(StoreError::Conflict(_)) => Err(DomainError::Conflict(format!(
                "Le compte « {} » existe déjà.",
                account.identity.id
            ))),
            other => Ok(other?),
        }
    }

    /// Checks a username and password and opens a session. A disabled account is answered as
    /// a wrong password: the answer never tells whether a password was right. After
    /// [`LOCK_AFTER_FAILURES`] wrong passwords in a row an account is locked, longer at each
    /// further one (up to an hour), whatever address the guesses come from; no password is
    /// checked while it is locked. Too many sign-ins at once are refused before any hash.
    pub async fn login(&self, username: &str, password: &str) -> Result<LoginGrant, DomainError> {
        let refused = || DomainError::Unauthorized("Identifiant ou mot de passe incorrect.".into());
        let now = self.clock.now();
        let account = self.store.find_account(username.trim()).await?;
        if let Some(until) = account.as_ref().and_then(|a| a.locked_until) {
            if until > now {
                return Err(locked(until, now));
            }
        }
        let phc = account.as_ref().map(|a| a.password_hash.as_str());
        let matches = self.verify_bounded(password, phc).await?;
        let Some(mut account) = account else {
            return Err(refused());
        };
        if !matches || account.disabled {
            self.count_failure(account).await?;
            return Err(refused());
        }
        // A new generation: the wrong passwords before this sign-in no longer count.
        account.locked_until = None;
        account.login_generation = account.login_generation.wrapping_add(1);
        self.store.update_account(&account).await?;
        let session_token = random_token();
        let session = StaffSession {
            identity: account.identity.clone(),
            csrf_token: random_token(),
            expires_at: self.clock.now() + self.session_ttl,
        };
        self.store
            .create_session(&digest(&session_token), &session)
            .await?;
        Ok(LoginGrant {
            session_token,
            csrf_token: session.csrf_token,
            identity: account.identity,
            max_age: self.session_ttl,
        })
    }

    /// Checks a password, at most [`HASHES_AT_ONCE`] at a time; refused at once when
    /// [`HASHES_WAITING`] more already wait.
    async fn verify_bounded(&self, password: &str, phc: Option<&str>) -> Result<bool, DomainError> {
        let busy = || {
            DomainError::TooManyAttempts(
                "Trop de connexions en cours : réessayez dans quelques secondes.".into(),
            )
        };
        let _admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| busy())?;
        let _hashing = self.hashing.acquire().await.map_err(|_| busy())?;
        Ok(self.passwords.verify(password, phc).await)
    }

    /// Counts a wrong password against `account` and locks it past the limit.
    async fn count_failure(&self, mut account: StaffAccount) -> Result<(), DomainError> {
        let now = self.clock.now();
        let key = format!(
            "staff-login-failures:{}:{}",
            digest(&account.identity.id),
            account.login_generation
        );
        // The count of a generation lasts a day: a slow guesser is still counted.
        let failures = self
            .quotas
            .take(&key, u32::MAX, now, now + Duration::days(1))
            .await?
            .unwrap_or(u32::MAX);
        if let Some(lock) = lock_for(failures) {
            account.locked_until = Some(now + lock);
            self.store.update_account(&account).await?;
        }
        Ok(())
    }

    /// Unlocks an account locked by wrong passwords (`staff unlock`, or an administrator).
    pub async fn unlock(&self, username: &str) -> Result<(), DomainError> {
        let mut account = self.account(username).await?;
        account.locked_until = None;
        account.login_generation = account.login_generation.wrapping_add(1);
        self.store.update_account(&account).await?;
        Ok(())
    }

    /// The live session behind a cookie value, if any.
    pub async fn session(&self, session_token: &str) -> Result<Option<StaffSession>, DomainError> {
        let key = digest(session_token);
        match self.store.find_session(&key).await? {
            Some(s) if s.expires_at > self.clock.now() => Ok(Some(s)),
            Some(_) => {
                self.store.delete_session(&key).await?;
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// Ends a session.
    pub async fn logout(&self, session_token: &str) -> Result<(), DomainError> {
        Ok(self.store.delete_session(&digest(session_token)).await?)
    }

    /// Every account, by username (the `staff list` command).
    pub async fn accounts(&self) -> Result<Vec<StaffAccount>, DomainError> {
        Ok(self.store.list_accounts().await?)
    }

    /// Disables an account and ends its sessions at once (`staff disable`); returns how many.
    pub async fn disable(&self, username: &str) -> Result<u64, DomainError> {
        let mut account = self.account(username).await?;
        account.disabled = true;
        self.store.update_account(&account).await?;
        Ok(self.store.delete_sessions_of(username).await?)
    }

    /// Lets a disabled account sign in again (`staff enable`).
    pub async fn enable(&self, username: &str) -> Result<(), DomainError> {
        let mut account = self.account(username).await?;
        account.disabled = false;
        self.store.update_account(&account).await?;
        Ok(())
    }

    /// Sets a new password and ends every session opened with the old one (`staff passwd`);
    /// returns how many were ended.
    pub async fn set_password(&self, username: &str, password: &str) -> Result<u64, DomainError> {
        check_password(password)?;
        let mut account = self.account(username).await?;
        account.password_hash = self.hash(password).await?;
        self.store.update_account(&account).await?;
        Ok(self.store.delete_sessions_of(username).await?)
    }

    async fn account(&self, username: &str) -> Result<StaffAccount, DomainError> {
        self.store
            .find_account(username)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("Aucun compte « {username} ».")))
    }

    async fn hash(&self, password: &str) -> Result<String, DomainError> {
        self.passwords
            .hash(password)
            .await
            .map_err(|e| DomainError::Unexpected(format!("password hashing failed: {e}")))
    }
}
