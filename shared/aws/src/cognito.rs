//! The staff directory on AWS: the members of a Cognito user pool's group, with the contacts
//! their attributes hold (`email`, `phone_number`, `name`).

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::types::UserType;
use telmail_core::domain::staff::{Role, StaffIdentity};
use telmail_core::error::StoreError;
use telmail_core::ports::StaffDirectory;

use crate::errors::store_error;

/// A user pool's groups, one per role.
#[derive(Clone, Debug)]
pub struct CognitoDirectory {
    client: aws_sdk_cognitoidentityprovider::Client,
    user_pool_id: String,
}

impl CognitoDirectory {
    /// The directory of the user pool `user_pool_id`.
    pub fn new(client: aws_sdk_cognitoidentityprovider::Client, user_pool_id: String) -> Self {
        Self {
            client,
            user_pool_id,
        }
    }
}

/// The identity of an enabled user (as the JWT authorizer would give it: `sub` is the id);
/// attributes that do not parse are left out rather than guessed.
fn identity(user: &UserType, role: Role) -> Option<StaffIdentity> {
    if !user.enabled() {
        return None;
    }
    let attribute = |name: &str| {
        user.attributes()
            .iter()
            .find(|a| a.name() == name)
            .and_then(|a| a.value())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let id = attribute("sub").or(user.username())?.to_owned();
    Some(StaffIdentity {
        name: attribute("name")
            .or(user.username())
            .unwrap_or(&id)
            .to_owned(),
        id,
        roles: [role].into(),
        email: attribute("email").and_then(|e| e.parse().ok()),
        phone: attribute("phone_number").and_then(|p| p.parse().ok()),
        department: attribute("custom:department").map(str::to_owned),
    })
}

#[async_trait]
impl StaffDirectory for CognitoDirectory {
    async fn holding(&self, role: Role) -> Result<Vec<StaffIdentity>, StoreError> {
        let mut found = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .list_users_in_group()
                .user_pool_id(&self.user_pool_id)
                .group_name(role.as_str())
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| store_error("Cognito ListUsersInGroup", e))?;
            found.extend(page.users().iter().filter_map(|u| identity(u, role)));
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => return Ok(found),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cognitoidentityprovider::types::AttributeType;

    fn attribute(name: &str, value: &str) -> AttributeType {
        AttributeType::builder()
            .name(name)
            .value(value)
            .build()
            .unwrap()
    }

    #[test]
    fn a_user_becomes_an_identity_with_the_contacts_that_parse() {
        let user = UserType::builder()
            .username("claire")
            .enabled(true)
            .attributes(attribute("sub", "1f2e"))
            .attributes(attribute("name", "Claire Martin"))
            .attributes(attribute("email", "cabinet@arcachon.example"))
            .attributes(attribute("phone_number", "not a number"))
            .build();
        let id = identity(&user, Role::Cabinet).unwrap();
        assert_eq!(
            (id.id.as_str(), id.name.as_str()),
            ("1f2e", "Claire Martin")
        );
        assert_eq!(
            id.email.as_ref().unwrap().as_str(),
            "cabinet@arcachon.example"
        );
        assert!(id.phone.is_none());
        assert!(id.has(Role::Cabinet));
        let disabled = UserType::builder().username("x").enabled(false).build();
        assert!(identity(&disabled, Role::Cabinet).is_none());
    }
}
