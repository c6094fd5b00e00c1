//! `fake-portone` binary: serves the fake PortOne V2 API for test suites written in other
//! languages, until interrupted.

use clap::Parser;
use fake_portone::{FakePortOne, StoreSettings, WebhookVersion};

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
    /// Another store (repeat for more), as `ID[,api-secret=S][,webhook-url=URL]
    /// [,webhook-secret=whsec_…][,webhook-version=2024-01-01]`: with its own API secret it
    /// is another merchant's. Each store's webhook secret is printed at start.
    #[arg(long = "store", value_parser = parse_store)]
    stores: Vec<StoreSettings>,
    #[command(flatten)]
    common: fake_harness::cli::CommonArgs,
}

/// Parses a `--store` value (see [`Args::stores`]).
fn parse_store(text: &str) -> Result<StoreSettings, String> {
    let mut parts = text.split(',');
    let id = parts.next().unwrap_or_default().trim();
    if id.is_empty() || id.contains('=') {
        return Err(format!(
            "{text:?}: starts with the store id, e.g. store-2,api-secret=S"
        ));
    }
    let mut store = StoreSettings::new(id);
    for part in parts {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?}: expected key=value"))?;
        store = match key.trim() {
            "api-secret" => store.api_secret(value),
            "webhook-url" => store.webhook_url(value),
            "webhook-secret" => store.webhook_secret(value),
            "webhook-version" => {
                store.webhook_version(WebhookVersion::parse(value).ok_or_else(|| {
                    format!("webhook-version: 2024-04-25 or 2024-01-01, got {value:?}")
                })?)
            }
            other => {
                return Err(format!(
                    "{other:?}: not a store setting (api-secret, webhook-url, webhook-secret, webhook-version)"
                ));
            }
        };
    }
    Ok(store)
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
    let extra: Vec<String> = args.stores.iter().map(|s| s.id().to_owned()).collect();
    for store in args.stores {
        builder = builder.store(store);
    }
    if !args.channel_keys.is_empty() {
        builder = builder.channel_keys(args.channel_keys);
    }
    let portone = builder.try_start()?;
    println!("fake-portone listening on {}", portone.uri());
    println!("api secret:     {}", portone.api_secret());
    println!("store id:       {}", portone.store_id());
    println!("webhook secret: {}", portone.webhook_secret());
    for id in extra {
        let secret = portone.webhook_secret_of(&id).unwrap_or_default();
        println!("store {id} webhook secret: {secret}");
    }
    tokio::signal::ctrl_c().await?;
    portone.shutdown().await;
    Ok(())
}
