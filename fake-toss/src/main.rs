//! `fake-toss` binary: serves the fake Toss Payments v1 API for test suites written in
//! other languages, until interrupted. Every knob a Rust test has is reachable through
//! the flags or the `/internal/` routes (see the crate docs).

use clap::Parser;
use fake_harness::cli::CommonArgs;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(name = "fake-toss", about = "A stateful fake Toss Payments v1 server")]
struct Args {
    /// Port to listen on (0 picks a free one; the chosen address is printed).
    #[arg(long, default_value_t = 30771)]
    port: u16,
    /// Accepted secret key (repeat for more); default `test_sk_fake`.
    #[arg(long = "secret-key")]
    secret_keys: Vec<String>,
    #[command(flatten)]
    common: CommonArgs,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut builder = fake_toss::FakeToss::builder()
        .port(args.port)
        .configure(|c| args.common.apply(c));
    for key in args.secret_keys {
        builder = builder.secret_key(key);
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
