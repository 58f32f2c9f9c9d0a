//! The staff identity named by the claims of a Cognito ID token — the same whether API
//! Gateway's JWT authorizer checked the token (AWS) or the server did (a local server signing
//! staff in with the town's user pool).

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;

use telmail_core::domain::contact::{Email, PhoneNumber};
use telmail_core::domain::staff::{Role, StaffIdentity};

/// The staff member named by Cognito claims: `sub` is the id, `cognito:groups` the roles (the
/// HTTP API passes that array claim as one string such as `[redaction cabinet]`; a JSON array
/// is accepted too), `email` and `phone_number` where test sends go, `custom:department` a
/// `service` member's department. Unknown groups are ignored.
pub fn identity_from_claims(claims: &HashMap<String, String>) -> Option<StaffIdentity> {
    let id = claims.get("sub").filter(|s| !s.is_empty())?.clone();
    let roles: BTreeSet<Role> = claims
        .get("cognito:groups")
        .map(|g| group_names(g))
        .unwrap_or_default()
        .iter()
        .filter_map(|g| g.parse().ok())
        .collect();
    let name = ["name", "cognito:username", "username", "email"]
        .iter()
        .find_map(|k| claims.get(*k).filter(|v| !v.is_empty()))
        .unwrap_or(&id)
        .clone();
    Some(StaffIdentity {
        id,
        name,
        roles,
        email: claims.get("email").and_then(|e| Email::from_str(e).ok()),
        phone: claims
            .get("phone_number")
            .and_then(|p| PhoneNumber::from_str(p).ok()),
        department: claims
            .get("custom:department")
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty()),
    })
}

fn group_names(claim: &str) -> Vec<String> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(claim) {
        return list;
    }
    claim
        .trim_matches(|c| c == '[' || c == ']')
        .split([' ', ','])
        .map(|g| g.trim_matches('"').trim())
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn groups_come_as_the_gateway_spells_them() {
        let id = identity_from_claims(&claims(&[
            ("sub", "1f2e"),
            ("cognito:groups", "[redaction cabinet]"),
            ("email", "agent@arcachon.fr"),
            ("name", "Claire Martin"),
        ]))
        .unwrap();
        assert_eq!(id.id, "1f2e");
        assert_eq!(id.name, "Claire Martin");
        assert_eq!(id.roles, BTreeSet::from([Role::Redaction, Role::Cabinet]));
        assert_eq!(id.email.unwrap().as_str(), "agent@arcachon.fr");

        let json = identity_from_claims(&claims(&[
            ("sub", "x"),
            ("cognito:groups", r#"["admin","visitors"]"#),
        ]))
        .unwrap();
        assert_eq!(json.roles, BTreeSet::from([Role::Admin]));
        assert_eq!(json.name, "x");
    }

    #[test]
    fn a_department_member_carries_their_department() {
        let id = identity_from_claims(&claims(&[
            ("sub", "c1"),
            ("cognito:groups", "[service]"),
            ("custom:department", " Culture "),
        ]))
        .unwrap();
        assert_eq!(id.roles, BTreeSet::from([Role::Service]));
        assert_eq!(id.department.as_deref(), Some("Culture"));
        let none = identity_from_claims(&claims(&[("sub", "c2"), ("custom:department", " ")]));
        assert_eq!(none.unwrap().department, None);
    }

    #[test]
    fn no_subject_no_identity_and_no_groups_no_roles() {
        assert!(identity_from_claims(&claims(&[("cognito:groups", "[admin]")])).is_none());
        let bare = identity_from_claims(&claims(&[("sub", "y")])).unwrap();
        assert!(bare.roles.is_empty());
    }
}
