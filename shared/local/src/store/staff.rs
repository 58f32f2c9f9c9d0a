//! Local staff accounts (by username) and their server-side sessions (by cookie digest).

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use telmail_core::domain::staff::{StaffAccount, StaffSession};
use telmail_core::error::StoreError;
use telmail_core::ports::StaffStore;

use super::{from_json, to_json, SqliteStore};
use crate::db::{micros, sql_err};

#[async_trait]
impl StaffStore for SqliteStore {
    async fn create_account(&self, account: &StaffAccount) -> Result<(), StoreError> {
        let username = account.identity.id.clone();
        let json = to_json(account)?;
        self.db
            .call(move |c| {
                // A taken username is a primary-key violation, reported as `Conflict`.
                c.prepare_cached("INSERT INTO staff_accounts (username, account) VALUES (?1, ?2)")
                    .and_then(|mut st| st.execute([username, json]))
                    .map(|_| ())
                    .map_err(sql_err)
            })
            .await
    }

    async fn find_account(&self, username: &str) -> Result<Option<StaffAccount>, StoreError> {
        let username = username.to_owned();
        let json = self
            .db
            .call(move |c| {
                c.prepare_cached("SELECT account FROM staff_accounts WHERE username = ?1")
                    .and_then(|mut st| {
                        st.query_row([username], |r| r.get::<_, String>(0))
                            .optional()
                    })
                    .map_err(sql_err)
            })
            .await?;
        json.map(|j| from_json("staff account", &j)).transpose()
    }

    async fn update_account(&self, account: &StaffAccount) -> Result<bool, StoreError> {
        let username = account.identity.id.clone();
        let json = to_json(account)?;
        self.db
            .call(move |c| {
                c.prepare_cached("UPDATE staff_accounts SET account = ?2 WHERE username = ?1")
                    .and_then(|mut st| st.execute([username, json]))
                    .map(|n| n == 1)
                    .map_err(sql_err)
            })
            .await
    }

    async fn list_accounts(&self) -> Result<Vec<StaffAccount>, StoreError> {
        let rows = self
            .db
            .call(|c| {
                c.prepare_cached("SELECT account FROM staff_accounts ORDER BY username")
                    .and_then(|mut st| {
                        st.query_map([], |r| r.get::<_, String>(0))?
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .map_err(sql_err)
            })
            .await?;
        rows.iter().map(|j| from_json("staff account", j)).collect()
    }

    async fn delete_sessions_of(&self, username: &str) -> Result<u64, StoreError> {
        let username = username.to_owned();
        self.db
            .call(move |c| {
                c.prepare_cached(
                    "DELETE FROM staff_sessions WHERE json_extract(session, '$.identity.id') = ?1",
                )
                .and_then(|mut st| st.execute([username]))
                .map(|n| n as u64)
                .map_err(sql_err)
            })
            .await
    }

    async fn create_session(&self, digest: &str, session: &StaffSession) -> Result<(), StoreError> {
        let digest = digest.to_owned();
        let json = to_json(session)?;
        let expires_at = micros(session.expires_at);
        self.db
            .call(move |c| {
                c.prepare_cached(
                    "INSERT INTO staff_sessions (digest, session, expires_at) VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut st| st.execute(params![digest, json, expires_at]))
                .map(|_| ())
                .map_err(sql_err)
            })
            .await
    }

    async fn find_session(&self, digest: &str) -> Result<Option<StaffSession>, StoreError> {
        let digest = digest.to_owned();
        // Expired sessions are returned too: the caller judges validity with its clock.
        let json = self
            .db
            .call(move |c| {
                c.prepare_cached("SELECT session FROM staff_sessions WHERE digest = ?1")
                    .and_then(|mut st| st.query_row([digest], |r| r.get::<_, String>(0)).optional())
                    .map_err(sql_err)
            })
            .await?;
        json.map(|j| from_json("staff session", &j)).transpose()
    }

    async fn delete_session(&self, digest: &str) -> Result<(), StoreError> {
        let digest = digest.to_owned();
        self.db
            .call(move |c| {
                c.prepare_cached("DELETE FROM staff_sessions WHERE digest = ?1")
                    .and_then(|mut st| st.execute([digest]))
                    .map(|_| ())
                    .map_err(sql_err)
            })
            .await
    }
}
