//! Named JSON documents, one row each (the weather templates and feed state, each month's
//! audience), read alone or by a range of names.

use rusqlite::{params, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;
use telmail_core::error::StoreError;

use super::{from_json, to_json, SqliteStore};
use crate::db::sql_err;

impl SqliteStore {
    /// The document named `name`, if any.
    pub(super) async fn document<T: DeserializeOwned + Send + 'static>(
        &self,
        name: &str,
    ) -> Result<Option<T>, StoreError> {
        let key = name.to_owned();
        let body: Option<String> = self
            .db
            .call(move |c| {
                c.prepare_cached("SELECT body FROM documents WHERE name = ?1")
                    .and_then(|mut st| st.query_row([key], |r| r.get(0)).optional())
                    .map_err(sql_err)
            })
            .await?;
        body.map(|b| from_json(name, &b)).transpose()
    }

    /// The documents whose names sort from `first` to `last`, in name order.
    pub(super) async fn documents_between<T: DeserializeOwned + Send + 'static>(
        &self,
        first: &str,
        last: &str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let (first, last) = (first.to_owned(), last.to_owned());
        let rows: Vec<(String, String)> = self
            .db
            .call(move |c| {
                let mut st = c
                    .prepare_cached(
                        "SELECT name, body FROM documents WHERE name >= ?1 AND name <= ?2 ORDER BY name",
                    )
                    .map_err(sql_err)?;
                let rows = st
                    .query_map([first, last], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        rows.into_iter()
            .map(|(name, body)| Ok((name.clone(), from_json(&name, &body)?)))
            .collect()
    }

    /// Writes the document named `name`, replacing any.
    pub(super) async fn save_document<T: Serialize>(
        &self,
        name: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let (name, body) = (name.to_owned(), to_json(value)?);
        self.db
            .call(move |c| {
                c.prepare_cached(
                    "INSERT INTO documents (name, body) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET body = excluded.body",
                )
                .and_then(|mut st| st.execute(params![name, body]))
                .map(|_| ())
                .map_err(sql_err)
            })
            .await
    }
}
