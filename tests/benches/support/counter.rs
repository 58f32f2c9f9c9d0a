//! An SDK interceptor counting requests per (service, operation) and estimating DynamoDB
//! capacity units by DynamoDB's published rules (moto returns fixed `ConsumedCapacity`, so they
//! cannot be read back):
//!
//! - writes: 1 WRU per started KB of the item (the larger of its size before and after);
//!   `TransactWriteItems` 2× per item; `BatchWriteItem` per item. An `UpdateItem` is sized as the
//!   item last seen written with that key, or, for an item never seen, key + values of the
//!   request. An item with the GSI key (`gsi1pk`, all attributes projected) costs its size again
//!   for the index write.
//! - reads: 0.5 RRU per started 4 KB eventually consistent, 1 strongly consistent (2 in a
//!   transaction); `GetItem` and `BatchGetItem` per item (a miss costs the minimum), `Query` on
//!   the total size of the items it read (the full items: a projection does not lower the cost).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use serde_json::{Map, Value};

/// The attribute naming the GSI partition (its writes cost as much again).
const GSI_KEY: &str = "gsi1pk";

/// Size and GSI membership of an item last seen written, by (pk, sk).
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    size: usize,
    in_gsi: bool,
}

/// What was counted.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Requests per (service, operation), retries left out.
    pub requests: BTreeMap<(String, String), u64>,
    /// HTTP attempts beyond the first of a request (moto's 5xx, throttling), not in `requests`.
    pub retries: u64,
    /// `ReceiveMessage` answers with no message.
    pub empty_receives: u64,
    /// Messages in the `ReceiveMessage` answers (a batch counts each).
    pub received_messages: u64,
    /// Estimated write request units on the table.
    pub wru_table: f64,
    /// Estimated write request units on the GSI.
    pub wru_gsi: f64,
    /// Estimated read request units.
    pub rru: f64,
    /// What the bytes in [`Self::rru`] would cost without each request (or item) rounded up
    /// to whole 4 KB: the rest is a cost per request, whatever the campaign's size.
    pub rru_unrounded: f64,
    /// Estimated (write, read) units per DynamoDB operation (GSI writes included).
    pub capacity: BTreeMap<String, (f64, f64)>,
    /// DynamoDB reads (`GetItem`, `BatchGetItem`, `Query`) per what they read — the operation, the index and
    /// the kind of partition (its key before the first `#`) — as (requests, read units).
    pub reads_by_kind: BTreeMap<String, (u64, f64)>,
}

impl Tally {
    /// Requests to one service.
    pub fn service(&self, service: &str) -> u64 {
        self.requests
            .iter()
            .filter(|((s, _), _)| s == service)
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests of one operation.
    pub fn operation(&self, service: &str, operation: &str) -> u64 {
        self.requests
            .get(&(service.to_owned(), operation.to_owned()))
            .copied()
            .unwrap_or(0)
    }
}

#[derive(Debug, Default)]
struct State {
    tally: Tally,
    seen: HashMap<(String, String), Seen>,
}

/// The counter, shared by every client's interceptor.
#[derive(Debug, Default, Clone)]
pub struct Counter(Arc<Mutex<State>>);

impl Counter {
    /// What was counted since the last reset.
    pub fn tally(&self) -> Tally {
        self.0.lock().unwrap().tally.clone()
    }

    /// Requests of one operation since the last reset (without copying the whole tally).
    pub fn operation(&self, service: &str, operation: &str) -> u64 {
        self.0.lock().unwrap().tally.operation(service, operation)
    }

    /// Zeroes the counts (the item sizes seen are kept: they size later updates and reads).
    pub fn reset(&self) {
        self.0.lock().unwrap().tally = Tally::default();
    }
}

/// What the response of a read needs from its request: consistency, and the partition a Query
/// read (its items may not carry `pk` when projected).
#[derive(Debug, Clone)]
struct ReadInfo {
    consistent: bool,
    pk: Option<String>,
    /// The keys a `BatchGetItem` asks for: one not found still costs a read's minimum.
    keys_asked: usize,
    /// What it reads, for [`Tally::reads_by_kind`].
    kind: String,
}

/// Marks a request whose first attempt was made.
#[derive(Debug, Clone, Copy)]
struct Attempted;

impl Storable for Attempted {
    type Storer = StoreReplace<Self>;
}

impl Storable for ReadInfo {
    type Storer = StoreReplace<Self>;
}

/// The service name as the report prints it.
fn service_label(service: &str) -> String {
    let s = service.to_ascii_lowercase();
    match s.as_str() {
        "dynamodb" => "DynamoDB",
        "sqs" => "SQS",
        "sesv2" | "ses" => "SES",
        "sns" => "SNS",
        "secretsmanager" | "secrets manager" => "SecretsManager",
        _ => return service.to_owned(),
    }
    .to_owned()
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Attempted>().is_some() {
            self.0.lock().unwrap().tally.retries += 1;
        } else {
            cfg.interceptor_state().store_put(Attempted);
        }
        Ok(())
    }

    /// Once per request (before the retry loop): counts it and its write units.
    fn read_after_serialization(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        let service = service_label(meta.service());
        let operation = meta.name().to_owned();
        let body: Option<Value> = context
            .request()
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok());
        let mut state = self.0.lock().unwrap();
        *state
            .tally
            .requests
            .entry((service.clone(), operation.clone()))
            .or_default() += 1;
        if service == "DynamoDB" {
            if let Some(body) = &body {
                let consistent = body
                    .get("ConsistentRead")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                    || body
                        .pointer("/RequestItems")
                        .and_then(Value::as_object)
                        .is_some_and(|t| {
                            t.values().any(|v| {
                                v.get("ConsistentRead").and_then(Value::as_bool) == Some(true)
                            })
                        });
                let pk = body
                    .pointer("/ExpressionAttributeValues/:pk/S")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let kind = read_kind(&operation, body, pk.as_deref());
                let keys_asked = keys_in(body.get("RequestItems"));
                let before = state.tally.wru_table + state.tally.wru_gsi;
                state.write_units(&operation, body);
                let added = state.tally.wru_table + state.tally.wru_gsi - before;
                state.tally.capacity.entry(operation.clone()).or_default().0 += added;
                drop(state);
                cfg.interceptor_state().store_put(ReadInfo {
                    consistent,
                    pk,
                    keys_asked,
                    kind,
                });
            }
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        let service = service_label(meta.service());
        let operation = meta.name().to_owned();
        let Some(body) = context
            .response()
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        else {
            return Ok(());
        };
        let info = cfg.load::<ReadInfo>().cloned();
        let mut state = self.0.lock().unwrap();
        match service.as_str() {
            "SQS" if operation == "ReceiveMessage" => {
                let n = body
                    .get("Messages")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                if n == 0 {
                    state.tally.empty_receives += 1;
                }
                state.tally.received_messages += n as u64;
            }
            "DynamoDB" if context.response().status().is_success() => {
                if let Some(info) = info {
                    let before = state.tally.rru;
                    state.read_units(&operation, &body, &info);
                    let added = state.tally.rru - before;
                    state.tally.capacity.entry(operation).or_default().1 += added;
                    if !info.kind.is_empty() {
                        let by_kind = state.tally.reads_by_kind.entry(info.kind).or_default();
                        by_kind.0 += 1;
                        by_kind.1 += added;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Size of one attribute value by DynamoDB's rules (approximately for numbers).
/// `Query INDEX PREFIX` or `GetItem PREFIX` for a read (empty for other operations): the
/// partition key's text before its first `#`.
fn read_kind(operation: &str, body: &Value, query_pk: Option<&str>) -> String {
    let prefix = |pk: &str| pk.split('#').next().unwrap_or_default().to_owned();
    match operation {
        "Query" => format!(
            "Query {} {}",
            body.get("IndexName")
                .and_then(Value::as_str)
                .unwrap_or("table"),
            query_pk.map(prefix).unwrap_or_default()
        ),
        "GetItem" => format!(
            "GetItem {}",
            body.pointer("/Key/pk/S")
                .and_then(Value::as_str)
                .map(prefix)
                .unwrap_or_default()
        ),
        // By its first table's first key: a batch reads one kind of item.
        "BatchGetItem" => format!(
            "BatchGetItem {}",
            body.get("RequestItems")
                .and_then(Value::as_object)
                .and_then(|t| t.values().next())
                .and_then(|t| t.pointer("/Keys/0/pk/S"))
                .and_then(Value::as_str)
                .map(prefix)
                .unwrap_or_default()
        ),
        _ => String::new(),
    }
}

fn value_size(v: &Value) -> usize {
    let Some((kind, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    match kind.as_str() {
        "S" => inner.as_str().map_or(0, str::len),
        "N" => inner.as_str().map_or(1, |n| n.len().div_ceil(2) + 1),
        "B" => inner.as_str().map_or(0, |b| b.len() * 3 / 4),
        "BOOL" | "NULL" => 1,
        "SS" | "BS" => inner.as_array().map_or(0, |a| {
            a.iter()
                .map(|x| {
                    x.as_str().map_or(0, |s| {
                        if kind == "BS" {
                            s.len() * 3 / 4
                        } else {
                            s.len()
                        }
                    })
                })
                .sum()
        }),
        "NS" => inner.as_array().map_or(0, |a| {
            a.iter()
                .map(|x| x.as_str().map_or(1, |n| n.len().div_ceil(2) + 1))
                .sum()
        }),
        "L" => inner.as_array().map_or(3, |a| {
            3 + a.iter().map(|x| 1 + value_size(x)).sum::<usize>()
        }),
        "M" => inner.as_object().map_or(3, |m| {
            3 + m
                .iter()
                .map(|(k, x)| k.len() + 1 + value_size(x))
                .sum::<usize>()
        }),
        _ => 0,
    }
}

/// Size of an item (attribute names + values).
fn item_size(item: &Map<String, Value>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn key_of(item: &Map<String, Value>) -> Option<(String, String)> {
    let s = |name: &str| {
        item.get(name)
            .and_then(|v| v.get("S"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Some((s("pk")?, s("sk").unwrap_or_default()))
}

/// How many keys a `BatchGetItem`'s `RequestItems` (or `UnprocessedKeys`) names, over its tables.
fn keys_in(tables: Option<&Value>) -> usize {
    tables.and_then(Value::as_object).map_or(0, |t| {
        t.values()
            .filter_map(|table| table.get("Keys").and_then(Value::as_array))
            .map(Vec::len)
            .sum()
    })
}

fn units(size: usize, per: usize) -> f64 {
    size.max(1).div_ceil(per) as f64
}

impl State {
    fn seen(&self, key: Option<&(String, String)>) -> Seen {
        key.and_then(|k| self.seen.get(k))
            .copied()
            .unwrap_or_default()
    }

    /// A put: the larger of the new and the old item.
    fn put(&mut self, item: &Map<String, Value>, factor: f64) {
        let key = key_of(item);
        let old = self.seen(key.as_ref());
        let size = item_size(item).max(old.size);
        let in_gsi = item.contains_key(GSI_KEY);
        self.tally.wru_table += factor * units(size, 1024);
        if in_gsi || old.in_gsi {
            self.tally.wru_gsi += units(size, 1024);
        }
        if let Some(k) = key {
            self.seen.insert(
                k,
                Seen {
                    size: item_size(item),
                    in_gsi,
                },
            );
        }
    }

    /// An update: the item as last seen, or key + values of the request.
    fn update(&mut self, request: &Value, factor: f64) {
        let Some(key) = request.get("Key").and_then(Value::as_object) else {
            return;
        };
        let k = key_of(key);
        let old = self.seen(k.as_ref());
        let values: usize = request
            .get("ExpressionAttributeValues")
            .and_then(Value::as_object)
            .map_or(0, |m| m.values().map(value_size).sum());
        let names: usize = request
            .get("ExpressionAttributeNames")
            .and_then(Value::as_object)
            .map_or(0, |m| {
                m.values().filter_map(Value::as_str).map(str::len).sum()
            });
        let expression = request
            .get("UpdateExpression")
            .and_then(Value::as_str)
            .unwrap_or("");
        let size = old.size.max(item_size(key) + values + names);
        let in_gsi = old.in_gsi || expression.contains(GSI_KEY);
        self.tally.wru_table += factor * units(size, 1024);
        if in_gsi {
            self.tally.wru_gsi += units(size, 1024);
        }
        if let Some(k) = k {
            self.seen.insert(k, Seen { size, in_gsi });
        }
    }

    /// A delete or a condition check: the item as last seen, or its key.
    fn delete(&mut self, key: &Map<String, Value>, factor: f64, removes: bool) {
        let k = key_of(key);
        let old = self.seen(k.as_ref());
        let size = old.size.max(item_size(key));
        self.tally.wru_table += factor * units(size, 1024);
        if removes {
            if old.in_gsi {
                self.tally.wru_gsi += units(size, 1024);
            }
            if let Some(k) = k {
                self.seen.remove(&k);
            }
        }
    }

    fn write_units(&mut self, operation: &str, body: &Value) {
        let obj = |v: Option<&Value>| v.and_then(Value::as_object).cloned();
        match operation {
            "PutItem" => {
                if let Some(item) = obj(body.get("Item")) {
                    self.put(&item, 1.0);
                }
            }
            "UpdateItem" => self.update(body, 1.0),
            "DeleteItem" => {
                if let Some(key) = obj(body.get("Key")) {
                    self.delete(&key, 1.0, true);
                }
            }
            "BatchWriteItem" => {
                let Some(tables) = obj(body.get("RequestItems")) else {
                    return;
                };
                for requests in tables.values().filter_map(Value::as_array) {
                    for r in requests {
                        if let Some(item) = obj(r.pointer("/PutRequest/Item")) {
                            self.put(&item, 1.0);
                        } else if let Some(key) = obj(r.pointer("/DeleteRequest/Key")) {
                            self.delete(&key, 1.0, true);
                        }
                    }
                }
            }
            "TransactWriteItems" => {
                let Some(items) = body.get("TransactItems").and_then(Value::as_array) else {
                    return;
                };
                for t in items {
                    if let Some(item) = obj(t.pointer("/Put/Item")) {
                        self.put(&item, 2.0);
                    } else if let Some(update) = t.get("Update") {
                        self.update(update, 2.0);
                    } else if let Some(key) = obj(t.pointer("/Delete/Key")) {
                        self.delete(&key, 2.0, true);
                    } else if let Some(key) = obj(t.pointer("/ConditionCheck/Key")) {
                        self.delete(&key, 2.0, false);
                    }
                }
            }
            _ => {}
        }
    }

    /// The size of a returned item: the full item when it was seen written (a projection reads
    /// the whole item all the same).
    fn read_size(&self, item: &Map<String, Value>, pk: Option<&str>) -> usize {
        let returned = item_size(item);
        let key = key_of(item).or_else(|| {
            let sk = item
                .get("sk")
                .and_then(|v| v.get("S"))
                .and_then(Value::as_str)?;
            Some((pk?.to_owned(), sk.to_owned()))
        });
        returned.max(self.seen(key.as_ref()).size)
    }

    fn read_units(&mut self, operation: &str, body: &Value, info: &ReadInfo) {
        let per_unit = if info.consistent { 1.0 } else { 0.5 };
        match operation {
            "GetItem" => {
                let size = body
                    .get("Item")
                    .and_then(Value::as_object)
                    .map_or(0, |i| self.read_size(i, None));
                self.charge_read(per_unit, size);
            }
            "BatchGetItem" => {
                let Some(tables) = body.get("Responses").and_then(Value::as_object) else {
                    return;
                };
                let sizes: Vec<usize> = tables
                    .values()
                    .filter_map(Value::as_array)
                    .flatten()
                    .filter_map(Value::as_object)
                    .map(|item| self.read_size(item, None))
                    .collect();
                // A key read and not found costs the minimum, as a `GetItem` that finds nothing;
                // one left unprocessed was not read.
                let missed = info
                    .keys_asked
                    .saturating_sub(sizes.len() + keys_in(body.get("UnprocessedKeys")));
                for size in sizes.into_iter().chain(std::iter::repeat_n(0, missed)) {
                    self.charge_read(per_unit, size);
                }
            }
            "TransactGetItems" => {
                let Some(items) = body.get("Responses").and_then(Value::as_array) else {
                    return;
                };
                let sizes: Vec<usize> = items
                    .iter()
                    .filter_map(|r| r.get("Item").and_then(Value::as_object))
                    .map(|item| self.read_size(item, None))
                    .collect();
                for size in sizes {
                    self.charge_read(2.0, size);
                }
            }
            "Query" | "Scan" => {
                let size: usize = match body.get("Items").and_then(Value::as_array) {
                    Some(items) => items
                        .iter()
                        .filter_map(Value::as_object)
                        .map(|i| self.read_size(i, info.pk.as_deref()))
                        .sum(),
                    // `Select COUNT`: items read but not returned; about 100 bytes each.
                    None => {
                        body.get("ScannedCount")
                            .and_then(Value::as_u64)
                            .unwrap_or(0) as usize
                            * 100
                    }
                };
                self.charge_read(per_unit, size);
            }
            _ => {}
        }
    }

    /// One read of `size` bytes at `per_unit` units per started 4 KB.
    fn charge_read(&mut self, per_unit: f64, size: usize) {
        self.tally.rru += per_unit * units(size, 4096);
        self.tally.rru_unrounded += per_unit * size as f64 / 4096.0;
    }
}
