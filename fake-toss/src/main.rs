//! `fake-toss` binary: serves the fake Toss Payments v1 API for test suites written in
//! other languages, until interrupted.

use std::time::Duration;

use clap::Parser;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(name = "fake-toss", about = "A stateful fake Toss Payments v1 server")]
struct Args {
    /// Port to listen on (0 picks a free one; the chosen address is printed).
    #[arg(long, default_value_t = 30771)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Where to POST webhooks.
    #[arg(long)]
    webhook_url: Option<String>,
    /// Accepted secret key (repeat for more); default `test_sk_fake`.
    #[arg(long = "secret-key")]
    secret_keys: Vec<String>,
    /// Latency added to every /v1 response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Webhook retry waits in milliseconds, comma-separated (default: the real schedule).
    #[arg(long, value_delimiter = ',')]
    webhook_retry_ms: Option<Vec<u64>>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut builder = fake_toss::FakeToss::builder()
        .host(args.host)
        .port(args.port)
        .latency(Duration::from_millis(args.latency_ms));
    for key in args.secret_keys {
        builder = builder.secret_key(key);
    }
    if let Some(url) = args.webhook_url {
        builder = builder.webhook_url(url);
    }
    if let Some(ms) = args.webhook_retry_ms {
        builder =
            builder.webhook_retry_schedule(ms.into_iter().map(Duration::from_millis).collect());
    }
    let toss = builder.try_start()?;
    println!(
        "fake-toss listening on {} (secret key {})",
        toss.uri(),
        toss.secret_key()
    );
    tokio::signal::ctrl_c().await?;
    toss.shutdown().await;
    Ok(())
}
