//! Town-hall staff: roles, the identity handlers see (from a local session or a Cognito token
//! alike), and local accounts with hashed passwords and server-side sessions (signed in by
//! [`crate::use_cases::staff_auth::StaffAuth`]).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::contact::{Email, PhoneNumber};
use crate::error::{DomainError, FieldErrors};

/// What a staff member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Communication service: writes campaigns, keeps the subscriber file.
    Redaction,
    /// Mayor's office: approves or rejects campaigns.
    Cabinet,
    /// Staff accounts and topics.
    Admin,
    /// Reception of the town hall or a maison de quartier: types in paper forms (with the place
    /// they were handed in), searches the file to avoid duplicates, corrects what they typed;
    /// no export, no erasure, no campaigns.
    Accueil,
    /// A member of a town department (culture, leisure centre, roads…): proposes information
    /// for the communication service to select; sees only their own proposals.
    Service,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Redaction,
        Role::Cabinet,
        Role::Admin,
        Role::Accueil,
        Role::Service,
    ];

    /// The name staff read, as the back office shows it.
    pub fn label(self) -> &'static str {
        match self {
            Role::Redaction => "Rédaction",
            Role::Cabinet => "Cabinet du maire",
            Role::Admin => "Administration",
            Role::Accueil => "Accueil",
            Role::Service => "Service",
        }
    }

    /// The wire name (also the Cognito group name).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Redaction => "redaction",
            Role::Cabinet => "cabinet",
            Role::Admin => "admin",
            Role::Accueil => "accueil",
            Role::Service => "service",
        }
    }
}

/// A role name that is none of the service's roles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Rôle inconnu : « {0} » (rôles : redaction, cabinet, admin, accueil, service).")]
pub struct RoleError(String);

impl FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "redaction" | "rédaction" => Ok(Role::Redaction),
            "cabinet" => Ok(Role::Cabinet),
            "admin" => Ok(Role::Admin),
            "accueil" => Ok(Role::Accueil),
            "service" => Ok(Role::Service),
            other => Err(RoleError(other.to_owned())),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a role list is refused (French, for the staff command).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolesError {
    #[error(transparent)]
    Unknown(#[from] RoleError),
    #[error("Indiquez au moins un rôle (redaction, cabinet, admin, accueil, service).")]
    None,
}

/// Parses a comma-separated role list such as `redaction,cabinet`.
pub fn parse_roles(s: &str) -> Result<BTreeSet<Role>, RolesError> {
    let roles: BTreeSet<Role> = s
        .split([',', ' '])
        .filter(|r| !r.trim().is_empty())
        .map(str::parse)
        .collect::<Result<_, RoleError>>()?;
    if roles.is_empty() {
        return Err(RolesError::None);
    }
    Ok(roles)
}

/// Who is acting: the same type whether it came from a local session or a Cognito token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffIdentity {
    /// Stable identifier (local username or Cognito `sub`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Roles held.
    pub roles: BTreeSet<Role>,
    /// Where test emails go.
    pub email: Option<Email>,
    /// Where test SMS go.
    pub phone: Option<PhoneNumber>,
    /// The town department a `service` member proposes for (Cognito attribute
    /// `custom:department`, or the local account's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
}

impl StaffIdentity {
    /// True when the role is held.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// `Forbidden` unless the role is held.
    pub fn require(&self, role: Role) -> Result<(), DomainError> {
        if self.has(role) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!(
                "Cette action est réservée au rôle « {} ».",
                role.label()
            )))
        }
    }

    /// `Forbidden` unless one of the roles is held.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), DomainError> {
        if roles.iter().any(|r| self.has(*r)) {
            Ok(())
        } else {
            let names: Vec<String> = roles.iter().map(|r| format!("« {} »", r.label())).collect();
            Err(DomainError::Forbidden(format!(
                "Cette action est réservée aux rôles : {}.",
                names.join(", ")
            )))
        }
    }
}

/// A local staff account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccount {
    /// The identity it logs in as (`id` is the username).
    pub identity: StaffIdentity,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Creation instant.
    pub created_at: DateTime<Utc>,
    /// A disabled account cannot sign in (and its sessions were ended when it was disabled).
    #[serde(default)]
    pub disabled: bool,
    /// After repeated wrong passwords, no password is checked before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<DateTime<Utc>>,
    /// Counts the successful sign-ins and unlocks: wrong passwords are counted afresh after each.
    #[serde(default)]
    pub login_generation: u32,
}

/// A logged-in local session; the store keys it by the SHA-256 of the cookie value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffSession {
    /// Who.
    pub identity: StaffIdentity,
    /// The token state-changing requests must echo in `X-CSRF-Token`.
    pub csrf_token: String,
    /// End of validity.
    pub expires_at: DateTime<Utc>,
}

/// Minimum length of a staff password.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Refuses a password too short to resist guessing.
pub fn check_password(password: &str) -> Result<(), DomainError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(FieldErrors::single(
            "password",
            format!("Le mot de passe doit comporter au moins {MIN_PASSWORD_LEN} caractères."),
        ));
    }
    Ok(())
}

/// Compares a presented CSRF token with the session's in constant time.
pub fn csrf_matches(presented: &str, expected: &str) -> bool {
    let (a, b) = (presented.as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(roles: &[Role]) -> StaffIdentity {
        StaffIdentity {
            id: "agent".into(),
            name: "Agent".into(),
            roles: roles.iter().copied().collect(),
            email: None,
            phone: None,
            department: None,
        }
    }

    #[test]
    fn roles_parse_and_are_required() {
        let roles = parse_roles("redaction, cabinet").unwrap();
        assert_eq!(roles.len(), 2);
        assert!(parse_roles("maire")
            .unwrap_err()
            .to_string()
            .contains("Rôle inconnu"));
        assert!(parse_roles("").is_err());
        let id = identity(&[Role::Redaction]);
        assert!(id.require(Role::Redaction).is_ok());
        let err = id.require(Role::Cabinet).unwrap_err();
        assert!(matches!(err, DomainError::Forbidden(ref m) if m.contains("« Cabinet du maire »")));
        assert!(id.require_any(&[Role::Admin, Role::Redaction]).is_ok());
        assert!(id.require_any(&[Role::Admin, Role::Cabinet]).is_err());
    }

    #[test]
    fn csrf_comparison_needs_the_exact_token() {
        assert!(csrf_matches("abc", "abc"));
        assert!(!csrf_matches("abd", "abc"));
        assert!(!csrf_matches("ab", "abc"));
    }
}
