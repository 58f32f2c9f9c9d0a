//! Lambda function `feedback`: SES bounces and complaints (through SNS) and, hourly, SMS opt-outs become suppressions.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telmail_aws::init_logging();
    let aws = telmail_aws::Aws::from_env().await?;
    telmail_aws::handlers::run_events(aws, |aws, event| async move {
        telmail_aws::handlers::feedback_event(&aws, event).await
    })
    .await
}
