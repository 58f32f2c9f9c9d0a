//! Zones of the town: one small partition (`ZONES`), an item per zone (`ZONE#<slug>`, JSON),
//! created with `attribute_not_exists` so a name is taken once.

use async_trait::async_trait;
use telmail_core::domain::zone::Zone;
use telmail_core::error::StoreError;
use telmail_core::ports::ZoneStore;

use super::items::{self, json, key, s, Fields};
use super::DynamoStore;

const ZONES: &str = "ZONES";
const ZONE_PREFIX: &str = "ZONE#";

#[async_trait]
impl ZoneStore for DynamoStore {
    async fn insert_zone(&self, zone: &Zone) -> Result<bool, StoreError> {
        let mut item = key(ZONES, format!("{ZONE_PREFIX}{}", zone.slug));
        item.insert("zone".into(), json(zone)?);
        self.put_new(item, "DynamoDB PutItem (zone)").await
    }

    async fn zones(&self) -> Result<Vec<Zone>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(ZONES))
            .expression_attribute_values(":prefix", s(ZONE_PREFIX))
            .consistent_read(true);
        items::query(q, usize::MAX, |item| {
            Ok(Some(Fields(item).json::<Zone>("zone")?))
        })
        .await
    }
}
