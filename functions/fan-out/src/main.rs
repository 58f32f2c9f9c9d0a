//! Lambda function `fan-out`: Consumes the `fanout` queue (one message per campaign shard → one delivery message per recipient) and, every minute, starts due scheduled campaigns and purges expired sign-ups.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telmail_aws::init_logging();
    let aws = telmail_aws::Aws::from_env().await?;
    telmail_aws::handlers::run_queue(aws).await
}
