//! /api/cron/weekly: a thin shell; the route's tasks live in nightshift-tasks.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    nightshift_http::run_route("weekly").await
}
