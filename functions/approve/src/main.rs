//! Lambda function `approve`: The mayor's office approves (which enqueues the fan-out) or rejects campaigns (JWT-protected routes).
use telmail_http::admin::Part;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telmail_aws::init_logging();
    let aws = telmail_aws::Aws::from_env().await?;
    telmail_aws::gateway::serve(telmail_aws::handlers::staff_router(&aws, Part::Approval)).await
}
