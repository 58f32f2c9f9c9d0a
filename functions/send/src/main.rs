//! Lambda function `send`: Consumes the `delivery` queue: claims each delivery, sends it through SES, SNS or End User Messaging (calls), records the outcome.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telmail_aws::init_logging();
    let aws = telmail_aws::Aws::from_env_placing_calls().await?;
    telmail_aws::send_concurrency::check(&aws)?;
    telmail_aws::handlers::run_queue(aws).await
}
