//! `fake-iamport`: serves the fake PortOne v1 API until interrupted, for suites in other
//! languages. Every knob a Rust test has is reachable through the flags or the
//! `/internal/` routes (see the crate docs).
//!
//! `fake-iamport --port 10851 --webhook-url URL --imp-key KEY --imp-secret SECRET`

use std::process::ExitCode;

use clap::Parser;
use fake_harness::cli::CommonArgs;

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
    /// Send webhooks form-encoded instead of JSON.
    #[arg(long)]
    webhook_form: bool,
    /// Accepted API key.
    #[arg(long, default_value = fake_iamport::DEFAULT_IMP_KEY, env = "FAKE_IAMPORT_IMP_KEY")]
    imp_key: String,
    /// Accepted API secret.
    #[arg(long, default_value = fake_iamport::DEFAULT_IMP_SECRET, env = "FAKE_IAMPORT_IMP_SECRET")]
    imp_secret: String,
    #[command(flatten)]
    common: CommonArgs,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let builder = fake_iamport::FakeIamport::builder()
        .credentials(args.imp_key, args.imp_secret)
        .port(args.port)
        .webhook_form_encoded(args.webhook_form)
        .configure(|c| args.common.apply(c));
    let fake = match builder.try_start() {
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
