//! Items and the calls that move them: attribute values, reading attributes (a malformed item
//! is an error naming its key), paged queries, batches and transactions, and what DynamoDB's
//! errors mean for the ports.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, KeysAndAttributes, Put, PutRequest, TransactWriteItem,
    Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::error::operation::BuildError;
use futures_util::{stream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use telmail_core::error::StoreError;

use crate::errors::store_error;

/// One item: attribute name → value.
pub type Item = HashMap<String, AttributeValue>;

/// Requests kept in flight at once when a port call needs one request per record.
pub const IN_FLIGHT: usize = 25;

/// Most items DynamoDB accepts in one TransactWriteItems.
const TRANSACTION_LIMIT: usize = 100;
/// Most keys in one BatchGetItem.
const BATCH_GET_LIMIT: usize = 100;
/// Most requests in one BatchWriteItem.
const BATCH_WRITE_LIMIT: usize = 25;
/// Rounds given to unprocessed batch keys before giving up.
const BATCH_ROUNDS: u32 = 8;

/// A string attribute.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub fn n(value: impl Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The primary key of an item.
pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// An SDK builder error (a bug of ours: a required field left out).
pub fn built<T>(result: Result<T, BuildError>) -> Result<T, StoreError> {
    result.map_err(|e| StoreError::Backend(format!("DynamoDB request: {e}")))
}

/// True when the error is a failed condition of a single-item write.
pub fn condition_failed<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

/// Sends a single-item write that carries a condition: its output when written, `None` when
/// the condition failed; any other error names the call (`what`).
pub async fn conditional_output<O, E>(
    what: &str,
    send: impl Future<Output = Result<O, SdkError<E, Response>>>,
) -> Result<Option<O>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match send.await {
        Ok(out) => Ok(Some(out)),
        Err(e) if condition_failed(&e) => Ok(None),
        Err(e) => Err(store_error(what, e)),
    }
}

/// Sends a single-item write that carries a condition: false when the condition failed.
pub async fn conditional<O, E>(
    what: &str,
    send: impl Future<Output = Result<O, SdkError<E, Response>>>,
) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    Ok(conditional_output(what, send).await?.is_some())
}

/// Only some attributes of an item: a projection expression and its `#`-names.
pub type Projection<'a> = (&'a str, &'a [(&'a str, &'a str)]);

/// Reads one item with a strongly consistent GetItem; errors say `DynamoDB GetItem ({what})`.
pub async fn get_consistent(
    client: &Client,
    table: &str,
    key: Item,
    projection: Option<Projection<'_>>,
    what: &str,
) -> Result<Option<Item>, StoreError> {
    get_item(client, table, key, projection, true, what).await
}

/// Reads one item with an eventually consistent GetItem (half the read units; a write is seen
/// within about a second); errors say `DynamoDB GetItem ({what})`.
pub async fn get_eventual(
    client: &Client,
    table: &str,
    key: Item,
    projection: Option<Projection<'_>>,
    what: &str,
) -> Result<Option<Item>, StoreError> {
    get_item(client, table, key, projection, false, what).await
}

async fn get_item(
    client: &Client,
    table: &str,
    key: Item,
    projection: Option<Projection<'_>>,
    consistent: bool,
    what: &str,
) -> Result<Option<Item>, StoreError> {
    let mut request = client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        // Left out when eventual, as DynamoDB's default.
        .set_consistent_read(consistent.then_some(true));
    if let Some((expression, names)) = projection {
        request = request.projection_expression(expression);
        for (placeholder, name) in names {
            request = request.expression_attribute_names(*placeholder, *name);
        }
    }
    request
        .send()
        .await
        .map(|out| out.item)
        .map_err(|e| store_error(&format!("DynamoDB GetItem ({what})"), e))
}

/// Reads the attributes of one item; errors name the item's key.
pub struct Fields<'a>(pub &'a Item);

impl Fields<'_> {
    /// `pk/sk`, to name the item in errors.
    pub fn key(&self) -> String {
        let part = |name: &str| match self.0.get(name) {
            Some(AttributeValue::S(v)) => v.as_str(),
            _ => "?",
        };
        format!("{}/{}", part("pk"), part("sk"))
    }

    /// The error for a missing or mistyped attribute.
    pub fn malformed(&self, what: impl Display) -> StoreError {
        StoreError::Backend(format!("malformed item {}: {what}", self.key()))
    }

    /// A string attribute, absent allowed.
    pub fn opt_str(&self, name: &str) -> Result<Option<&str>, StoreError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v)),
            Some(_) => Err(self.malformed(format_args!("{name} is not a string"))),
        }
    }

    /// A string attribute.
    pub fn str(&self, name: &str) -> Result<&str, StoreError> {
        self.opt_str(name)?
            .ok_or_else(|| self.malformed(format_args!("no {name}")))
    }

    /// A number attribute, absent allowed.
    pub fn opt_num<T: FromStr>(&self, name: &str) -> Result<Option<T>, StoreError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => v
                .parse()
                .map(Some)
                .map_err(|_| self.malformed(format_args!("{name} = {v} is out of range"))),
            Some(_) => Err(self.malformed(format_args!("{name} is not a number"))),
        }
    }

    /// A number attribute.
    pub fn num<T: FromStr>(&self, name: &str) -> Result<T, StoreError> {
        self.opt_num(name)?
            .ok_or_else(|| self.malformed(format_args!("no {name}")))
    }

    /// A string attribute holding JSON.
    pub fn json<T: DeserializeOwned>(&self, name: &str) -> Result<T, StoreError> {
        serde_json::from_str(self.str(name)?)
            .map_err(|e| self.malformed(format_args!("{name}: {e}")))
    }
}

/// Serialises a record for a JSON attribute.
pub fn json(value: &impl serde::Serialize) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(value)
        .map(AttributeValue::S)
        .map_err(|e| StoreError::Backend(format!("serialising a record: {e}")))
}

/// Runs a query page after page, keeping what `keep` returns, until the end or `max` kept.
pub async fn query<T>(
    query: QueryFluentBuilder,
    max: usize,
    mut keep: impl FnMut(&Item) -> Result<Option<T>, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    if max == 0 {
        return Ok(out);
    }
    let mut start = None;
    loop {
        let page = query
            .clone()
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| store_error("DynamoDB Query", e))?;
        for item in page.items() {
            if let Some(kept) = keep(item)? {
                out.push(kept);
                if out.len() >= max {
                    return Ok(out);
                }
            }
        }
        start = page.last_evaluated_key.filter(|k| !k.is_empty());
        if start.is_none() {
            return Ok(out);
        }
    }
}

/// Runs a `Select COUNT` query to its end.
pub async fn count(query: QueryFluentBuilder) -> Result<u64, StoreError> {
    let mut total = 0;
    let mut start = None;
    loop {
        let page = query
            .clone()
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| store_error("DynamoDB Query (count)", e))?;
        total += u64::try_from(page.count()).unwrap_or(0);
        start = page.last_evaluated_key.filter(|k| !k.is_empty());
        if start.is_none() {
            return Ok(total);
        }
    }
}

/// Waits before another round of unprocessed batch keys (jittered, from 25 ms).
async fn backoff(round: u32, what: &str) -> Result<(), StoreError> {
    if round >= BATCH_ROUNDS {
        return Err(StoreError::Backend(format!(
            "{what}: keys still unprocessed after {BATCH_ROUNDS} rounds"
        )));
    }
    crate::backoff::wait(round, Duration::from_millis(25)).await;
    Ok(())
}

/// Reads items by key (100 per BatchGetItem, several in flight), retrying unprocessed keys.
/// `projection` uses the `#`-names given. Keys must be distinct; missing items are skipped.
pub async fn batch_get(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    projection: Option<(&str, &[(&str, &str)])>,
    consistent: bool,
) -> Result<Vec<Item>, StoreError> {
    let chunks: Vec<Vec<Item>> = keys.chunks(BATCH_GET_LIMIT).map(<[Item]>::to_vec).collect();
    let pages = stream::iter(chunks)
        .map(|chunk| async move {
            let mut request = KeysAndAttributes::builder()
                .set_keys(Some(chunk))
                .consistent_read(consistent);
            if let Some((expression, names)) = projection {
                request = request.projection_expression(expression);
                for (placeholder, name) in names {
                    request = request.expression_attribute_names(*placeholder, *name);
                }
            }
            let mut pending = Some(built(request.build())?);
            let mut found = Vec::new();
            let mut round = 0;
            while let Some(request) = pending.take() {
                let out = client
                    .batch_get_item()
                    .request_items(table, request)
                    .send()
                    .await
                    .map_err(|e| store_error("DynamoDB BatchGetItem", e))?;
                if let Some(mut items) = out.responses {
                    found.extend(items.remove(table).unwrap_or_default());
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(table))
                    .filter(|k| !k.keys().is_empty());
                if pending.is_some() {
                    backoff(round, "DynamoDB BatchGetItem").await?;
                    round += 1;
                }
            }
            Ok::<_, StoreError>(found)
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<Vec<Item>>>()
        .await?;
    Ok(pages.into_iter().flatten().collect())
}

/// A BatchWriteItem request deleting an item.
pub fn delete_request(key: Item) -> Result<WriteRequest, StoreError> {
    built(DeleteRequest::builder().set_key(Some(key)).build())
        .map(|d| WriteRequest::builder().delete_request(d).build())
}

/// A BatchWriteItem request writing an item.
pub fn put_request(item: Item) -> Result<WriteRequest, StoreError> {
    built(PutRequest::builder().set_item(Some(item)).build())
        .map(|p| WriteRequest::builder().put_request(p).build())
}

/// Writes unconditionally (25 per BatchWriteItem), retrying unprocessed requests.
pub async fn batch_write(
    client: &Client,
    table: &str,
    requests: Vec<WriteRequest>,
) -> Result<(), StoreError> {
    for chunk in requests.chunks(BATCH_WRITE_LIMIT) {
        let mut pending = chunk.to_vec();
        let mut round = 0;
        while !pending.is_empty() {
            let out = client
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(|e| store_error("DynamoDB BatchWriteItem", e))?;
            pending = out
                .unprocessed_items
                .and_then(|mut u| u.remove(table))
                .unwrap_or_default();
            if !pending.is_empty() {
                backoff(round, "DynamoDB BatchWriteItem").await?;
                round += 1;
            }
        }
    }
    Ok(())
}

/// A condition on one write of a transaction (the default: none).
#[derive(Default)]
pub struct Condition {
    expression: Option<String>,
    names: Option<HashMap<String, String>>,
    values: Option<HashMap<String, AttributeValue>>,
}

impl Condition {
    /// A condition expression; add its `#`-names and `:`-values with [`Self::name`] and
    /// [`Self::value`].
    pub fn new(expression: &str) -> Self {
        Self {
            expression: Some(expression.to_owned()),
            ..Self::default()
        }
    }

    /// The item must not exist yet.
    pub fn absent() -> Self {
        Self::new("attribute_not_exists(pk)")
    }

    /// Names an attribute.
    pub fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names
            .get_or_insert_with(HashMap::new)
            .insert(placeholder.into(), attribute.into());
        self
    }

    /// Gives a value.
    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values
            .get_or_insert_with(HashMap::new)
            .insert(placeholder.into(), value);
        self
    }
}

/// Writes that succeed or fail together (TransactWriteItems), each with what its failed
/// condition means, for the `Conflict` error.
pub struct Transaction<'a> {
    table: &'a str,
    writes: Vec<(TransactWriteItem, &'static str)>,
}

impl<'a> Transaction<'a> {
    /// An empty transaction on `table`.
    pub fn new(table: &'a str) -> Self {
        Self {
            table,
            writes: Vec::new(),
        }
    }

    /// Writes an item, if `condition` holds.
    pub fn put(
        &mut self,
        item: Item,
        condition: Option<Condition>,
        conflict: &'static str,
    ) -> Result<(), StoreError> {
        let c = condition.unwrap_or_default();
        let put = built(
            Put::builder()
                .table_name(self.table)
                .set_item(Some(item))
                .set_condition_expression(c.expression)
                .set_expression_attribute_names(c.names)
                .set_expression_attribute_values(c.values)
                .build(),
        )?;
        self.writes
            .push((TransactWriteItem::builder().put(put).build(), conflict));
        Ok(())
    }

    /// Deletes an item, if `condition` holds.
    pub fn delete(
        &mut self,
        key: Item,
        condition: Option<Condition>,
        conflict: &'static str,
    ) -> Result<(), StoreError> {
        let c = condition.unwrap_or_default();
        let delete = built(
            Delete::builder()
                .table_name(self.table)
                .set_key(Some(key))
                .set_condition_expression(c.expression)
                .set_expression_attribute_names(c.names)
                .set_expression_attribute_values(c.values)
                .build(),
        )?;
        self.writes.push((
            TransactWriteItem::builder().delete(delete).build(),
            conflict,
        ));
        Ok(())
    }

    /// Updates an item with `update` (its expression, names and values), if `condition` holds.
    pub fn update(
        &mut self,
        key: Item,
        update: Condition,
        conflict: &'static str,
    ) -> Result<(), StoreError> {
        let write = built(
            Update::builder()
                .table_name(self.table)
                .set_key(Some(key))
                .set_update_expression(update.expression)
                .set_expression_attribute_names(update.names)
                .set_expression_attribute_values(update.values)
                .build(),
        )?;
        self.writes
            .push((TransactWriteItem::builder().update(write).build(), conflict));
        Ok(())
    }

    /// Commits; a failed condition or a concurrent transaction on one of the items is a
    /// `Conflict` naming the first write concerned.
    pub async fn commit(self, client: &Client) -> Result<(), StoreError> {
        if self.writes.len() > TRANSACTION_LIMIT {
            return Err(StoreError::Backend(format!(
                "{} writes exceed the {TRANSACTION_LIMIT} items of one DynamoDB transaction",
                self.writes.len()
            )));
        }
        let (items, conflicts): (Vec<_>, Vec<_>) = self.writes.into_iter().unzip();
        match client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => Err(transaction_error(err, &conflicts)),
        }
    }
}

fn transaction_error(
    err: SdkError<TransactWriteItemsError, Response>,
    conflicts: &[&str],
) -> StoreError {
    if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        err.as_service_error()
    {
        let clash = cancelled
            .cancellation_reasons()
            .iter()
            .zip(conflicts)
            .find(|(reason, _)| {
                matches!(
                    reason.code(),
                    Some("ConditionalCheckFailed" | "TransactionConflict")
                )
            });
        if let Some((_, what)) = clash {
            return StoreError::Conflict((*what).to_owned());
        }
    }
    store_error("DynamoDB TransactWriteItems", err)
}
