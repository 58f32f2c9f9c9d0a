//! Channels the provider paused, and campaigns braked on a channel: one item each in the
//! `PAUSES` partition (sort key `email`, `sms`, `email#<campaign>`).

use async_trait::async_trait;
use telmail_core::domain::campaign::CampaignId;
use telmail_core::domain::contact::Channel;
use telmail_core::domain::delivery::ChannelPause;
use telmail_core::error::StoreError;
use telmail_core::ports::PauseStore;

use super::items::{self, json, key, s, Fields};
use super::keys::PAUSES;
use super::DynamoStore;

#[async_trait]
impl PauseStore for DynamoStore {
    async fn pause(&self, pause: &ChannelPause) -> Result<(), StoreError> {
        let mut item = key(PAUSES, ChannelPause::key(pause.channel, pause.campaign));
        item.insert("pause".into(), json(pause)?);
        // The first pause of a channel is kept: its reason and time are the ones staff need.
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)");
        items::conditional("DynamoDB PutItem (pause)", put.send()).await?;
        Ok(())
    }

    async fn pauses(&self) -> Result<Vec<ChannelPause>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(PAUSES))
            .consistent_read(true);
        items::query(q, usize::MAX, |item| Fields(item).json("pause").map(Some)).await
    }

    async fn resume(
        &self,
        channel: Channel,
        campaign: Option<CampaignId>,
    ) -> Result<bool, StoreError> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(PAUSES, ChannelPause::key(channel, campaign))))
            .condition_expression("attribute_exists(pk)");
        items::conditional("DynamoDB DeleteItem (pause)", delete.send()).await
    }
}
