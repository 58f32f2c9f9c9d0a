//! Lambda function `subscribe`: Public sign-up, confirmation, preferences and unsubscribe pages and API (HTTP API `$default` route).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telmail_aws::init_logging();
    let aws = telmail_aws::Aws::from_env_queueing_calls().await?;
    telmail_aws::gateway::serve(telmail_aws::handlers::public_router(&aws)).await
}
