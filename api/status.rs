//! /api/status (and /api/health, /api/status/…): monitoring, no cron. A thin
//! shell; the endpoints live in nightshift-status.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    nightshift_http::run_status().await
}
