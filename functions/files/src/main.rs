//! Lambda function `files`: big files of the subscriber file (links to send an import or
//! download an export through the bucket, and their jobs), the one staff function with S3.
use telmail_http::admin::Part;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telmail_aws::init_logging();
    let aws = telmail_aws::Aws::from_env().await?;
    telmail_aws::gateway::serve(telmail_aws::handlers::staff_router(&aws, Part::Files)).await
}
