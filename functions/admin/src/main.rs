//! Lambda function `admin`: staff subscriber file, topics, zones, the crisis cell and statistics
//! (JWT-protected routes); big files are the `files` function's.
use telmail_http::admin::Part;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telmail_aws::init_logging();
    let aws = telmail_aws::Aws::from_env().await?;
    telmail_aws::gateway::serve(telmail_aws::handlers::staff_router(&aws, Part::File)).await
}
