//! Which staff directory a function has. Only the functions that tell staff something by
//! email or SMS (`campaigns`: a campaign submitted; `approve`: its author told of the
//! decision; `weather`: the cabinet told of an alert) read the Cognito user pool's groups,
//! so only they link the Cognito SDK (the crate's `directory` feature). Elsewhere nothing asks
//! the directory, and should something do, it is refused with the reason.

use std::sync::Arc;

use telmail_core::ports::StaffDirectory;

use crate::backend::Clients;

/// The staff of the user pool `user_pool_id`, by role.
#[cfg(feature = "directory")]
pub fn staff_directory(clients: &Clients, user_pool_id: String) -> Arc<dyn StaffDirectory> {
    Arc::new(crate::cognito::CognitoDirectory::new(
        clients.cognito.clone(),
        user_pool_id,
    ))
}

/// No staff directory in a function that tells staff nothing.
#[cfg(not(feature = "directory"))]
pub fn staff_directory(_clients: &Clients, _user_pool_id: String) -> Arc<dyn StaffDirectory> {
    Arc::new(elsewhere::NoDirectory)
}

#[cfg(not(feature = "directory"))]
mod elsewhere {
    use async_trait::async_trait;
    use telmail_core::domain::staff::{Role, StaffIdentity};
    use telmail_core::error::StoreError;
    use telmail_core::ports::StaffDirectory;

    /// The staff directory of a function built without Cognito.
    pub struct NoDirectory;

    #[async_trait]
    impl StaffDirectory for NoDirectory {
        async fn holding(&self, _role: Role) -> Result<Vec<StaffIdentity>, StoreError> {
            Err(StoreError::Backend(
                "staff are told by the campaigns, approve and weather functions; this one has no Cognito client"
                    .into(),
            ))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[tokio::test]
        async fn a_function_without_cognito_says_it_has_no_directory() {
            assert!(NoDirectory.holding(Role::Cabinet).await.is_err());
        }
    }
}
