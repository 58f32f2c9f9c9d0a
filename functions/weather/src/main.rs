//! Lambda function `weather`: on an EventBridge schedule, polls Météo-France's vigilance feed
//! (URL from `TELMAIL_WEATHER_FEED_URL`, key from the Secrets Manager secret named by
//! `TELMAIL_WEATHER_KEY_SECRET`, read at a cold start and again when the feed refuses it) and
//! relays the alerts.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telmail_aws::init_logging();
    let aws = telmail_aws::Aws::from_env().await?;
    let url = telmail_aws::env::required("TELMAIL_WEATHER_FEED_URL")?;
    let feed = telmail_aws::weather_feed(&aws, move |key| {
        telmail_meteo::HttpWeatherFeed::new(&url, key)
    })
    .await?;
    telmail_aws::handlers::run_events(aws, move |aws, _event| {
        let feed = feed.clone();
        async move { telmail_aws::handlers::weather_tick(&aws, feed.as_ref()).await }
    })
    .await
}
