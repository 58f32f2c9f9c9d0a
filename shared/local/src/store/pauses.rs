//! Channels the provider paused, and campaigns braked on a channel: a document each
//! (`pause:email`, `pause:sms`, `pause:email#<campaign>`).

use async_trait::async_trait;
use rusqlite::params;
use telmail_core::domain::campaign::CampaignId;
use telmail_core::domain::contact::Channel;
use telmail_core::domain::delivery::ChannelPause;
use telmail_core::error::StoreError;
use telmail_core::ports::PauseStore;

use super::SqliteStore;
use crate::db::sql_err;

fn name(channel: Channel, campaign: Option<CampaignId>) -> String {
    format!("pause:{}", ChannelPause::key(channel, campaign))
}

#[async_trait]
impl PauseStore for SqliteStore {
    async fn pause(&self, pause: &ChannelPause) -> Result<(), StoreError> {
        // The first pause of a channel is kept: its reason and time are the ones staff need.
        let name = name(pause.channel, pause.campaign);
        if self.document::<ChannelPause>(&name).await?.is_some() {
            return Ok(());
        }
        self.save_document(&name, pause).await
    }

    async fn pauses(&self) -> Result<Vec<ChannelPause>, StoreError> {
        Ok(self
            .documents_between::<ChannelPause>("pause:", "pause:~")
            .await?
            .into_iter()
            .map(|(_, p)| p)
            .collect())
    }

    async fn resume(
        &self,
        channel: Channel,
        campaign: Option<CampaignId>,
    ) -> Result<bool, StoreError> {
        let key = name(channel, campaign);
        self.db
            .call(move |c| {
                c.prepare_cached("DELETE FROM documents WHERE name = ?1")
                    .and_then(|mut st| st.execute(params![key]))
                    .map(|n| n > 0)
                    .map_err(sql_err)
            })
            .await
    }
}
