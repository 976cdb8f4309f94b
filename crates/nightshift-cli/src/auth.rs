//! `nightshift auth`: end every dashboard session, or lift the back-off on
//! wrong secrets (docs/decisions.md, "[sec] Throttled secret attempts" and
//! "[sec] Sessions end on the server"). Straight on DATABASE_URL, so it works
//! while the operator's own address is the one backed off.

use std::net::IpAddr;

use clap::{Args, Subcommand};
use nightshift_core::{session, throttle};

#[derive(Args)]
#[command(
    after_help = "Example:\n  nightshift auth sign-out-everywhere\n  nightshift auth unblock 203.0.113.7\n  nightshift auth unblock --all"
)]
pub struct AuthArgs {
    #[command(subcommand)]
    command: AuthCommand,
}

#[derive(Subcommand)]
enum AuthCommand {
    /// End every dashboard session: every browser must sign in again.
    SignOutEverywhere,
    /// Lift the back-off of one client address, or (--all) of every address.
    /// Only wrong secrets are ever refused; running instances forget their
    /// copy of a block within a minute.
    Unblock {
        /// The client address (an IPv6 address lifts its whole /48).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        address: Option<IpAddr>,
        #[arg(long)]
        all: bool,
    },
}

pub async fn auth(args: AuthArgs) -> anyhow::Result<()> {
    let pool = crate::connect().await?;
    match args.command {
        AuthCommand::SignOutEverywhere => {
            session::revoke_all(&pool, "cli", chrono::Utc::now()).await?;
            println!("every dashboard session ended; sign in again to use the dashboard");
        }
        AuthCommand::Unblock { address, .. } => {
            let scope = address.map(throttle::key_of);
            let gone = sqlx::query!(
                "DELETE FROM auth_throttle WHERE $1::text IS NULL OR scope = $1",
                scope,
            )
            .execute(&pool)
            .await?
            .rows_affected();
            match scope {
                Some(s) => println!("{s}: {} back-off record(s) removed", gone),
                None => println!("all back-offs lifted ({gone} record(s) removed)"),
            }
        }
    }
    Ok(())
}
