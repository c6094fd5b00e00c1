//! `fake-portone` binary: serves the fake PortOne V2 API for test suites written in other
//! languages, until interrupted.

use clap::Parser;
use fake_portone::{FakePortOne, WebhookVersion};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "fake-portone",
    about = "A stateful fake PortOne REST API V2 server"
)]
struct Args {
    /// Port to listen on (0 picks a free one; the chosen address is printed).
    #[arg(long, default_value_t = 30773)]
    port: u16,
    /// The API secret (`Authorization: PortOne <secret>`).
    #[arg(long, default_value = fake_portone::DEFAULT_API_SECRET)]
    api_secret: String,
    /// The store id.
    #[arg(long, default_value = fake_portone::DEFAULT_STORE_ID)]
    store_id: String,
    /// The webhook secret (`whsec_` + base64).
    #[arg(long, default_value = fake_portone::DEFAULT_WEBHOOK_SECRET)]
    webhook_secret: String,
    /// The webhook body version: 2024-04-25 or 2024-01-01.
    #[arg(long, default_value = "2024-04-25")]
    webhook_version: String,
    /// PortOne's webhook retry schedule (1, 4, 16, 64, 256 minutes) times this factor.
    #[arg(long)]
    webhook_retry_scale: Option<f64>,
    /// Accept only these channel keys (repeat for more; default: any).
    #[arg(long = "channel-key")]
    channel_keys: Vec<String>,
    #[command(flatten)]
    common: fake_harness::cli::CommonArgs,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let version = WebhookVersion::parse(&args.webhook_version).ok_or_else(|| {
        format!(
            "--webhook-version must be 2024-04-25 or 2024-01-01, got {:?}",
            args.webhook_version
        )
    })?;
    let mut builder = FakePortOne::builder()
        .configure(|c| args.common.apply(c))
        .port(args.port)
        .api_secret(&args.api_secret)
        .store_id(&args.store_id)
        .webhook_secret(&args.webhook_secret)
        .webhook_version(version);
    if let Some(factor) = args.webhook_retry_scale {
        builder = builder.webhook_retry_scale(factor);
    }
    if !args.channel_keys.is_empty() {
        builder = builder.channel_keys(args.channel_keys);
    }
    let portone = builder.try_start()?;
    println!("fake-portone listening on {}", portone.uri());
    println!("api secret:     {}", portone.api_secret());
    println!("store id:       {}", portone.store_id());
    println!("webhook secret: {}", portone.webhook_secret());
    tokio::signal::ctrl_c().await?;
    portone.shutdown().await;
    Ok(())
}
