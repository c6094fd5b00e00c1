//! `fake-iamport`: serves the fake PortOne v1 API until interrupted.
//!
//! `fake-iamport --port 10851 --webhook-url URL --imp-key KEY --imp-secret SECRET`

use std::net::IpAddr;
use std::process::ExitCode;

use clap::Parser;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "fake-iamport",
    about = "A stateful fake PortOne v1 (iamport) API server"
)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 10851, env = "FAKE_IAMPORT_PORT")]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Where webhooks go for payments without a notice_url.
    #[arg(long, env = "FAKE_IAMPORT_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// Send webhooks form-encoded instead of JSON.
    #[arg(long)]
    webhook_form: bool,
    /// Accepted API key.
    #[arg(long, default_value = fake_iamport::DEFAULT_IMP_KEY, env = "FAKE_IAMPORT_IMP_KEY")]
    imp_key: String,
    /// Accepted API secret.
    #[arg(long, default_value = fake_iamport::DEFAULT_IMP_SECRET, env = "FAKE_IAMPORT_IMP_SECRET")]
    imp_secret: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut builder = fake_iamport::FakeIamport::builder()
        .credentials(args.imp_key, args.imp_secret)
        .ip(args.host)
        .port(args.port)
        .webhook_form_encoded(args.webhook_form);
    if let Some(url) = args.webhook_url {
        builder = builder.webhook_url(url);
    }
    let fake = match builder.try_start().await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    println!("fake-iamport listening on {}", fake.uri());
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("cannot wait for Ctrl-C: {e}");
    }
    fake.shutdown().await;
    ExitCode::SUCCESS
}
