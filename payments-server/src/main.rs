//! The `payments-server` binary: reads a TOML configuration (`--config FILE`) with
//! `PAYMENTS_*` environment overrides and serves until Ctrl-C or SIGTERM (graceful). `keygen` prints fresh
//! keys; `check-config` validates the configuration and asks each PG store once
//! whether it accepts the server's credentials; `--demo` starts fake-toss, fake-iamport
//! and fake-portone in-process and points the server
//! at them, so the whole API can be tried with nothing else running.

use base64::Engine;
use clap::{Parser, Subcommand};
use payments_server::PaymentServer;
use payments_server::config::ServerConfig;
use rand::RngCore;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "payments-server",
    version,
    about = "The integrated payment server for Toss Payments and PortOne"
)]
struct Cli {
    /// The TOML configuration file.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Start fake-toss, fake-iamport and fake-portone in-process and use them as the PGs.
    #[arg(long)]
    demo: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print fresh keys as a TOML snippet for the configuration.
    Keygen {
        /// Also print a compat key and IV. Only for clients that cannot speak sealed-v2
        /// (samchon's nestia SDK): compat has no MAC and a fixed IV.
        #[arg(long)]
        compat: bool,
    },
    /// Validate the configuration and ask each configured PG store once whether it
    /// accepts the server's credentials; exits 1 when anything is wrong.
    CheckConfig,
}

fn random_text(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}

fn keygen(compat: bool) {
    println!("[envelopes]");
    println!("sealed_v2_secret = \"{}\"", random_text(32));
    if compat {
        // compat keys are used as their UTF-8 bytes: 32 and 16 ASCII characters.
        let compat_key: String = random_text(24).chars().take(32).collect();
        let compat_iv: String = random_text(12).chars().take(16).collect();
        println!("# compat: no MAC, fixed IV; only for clients that cannot speak sealed-v2");
        println!("compat = {{ key = \"{compat_key}\", iv = \"{compat_iv}\" }}");
    }
    println!();
    println!("[data_keys]");
    println!("active = \"k1\"");
    println!(
        "keys = {{ k1 = \"{}\" }}",
        payments_server::keys::generate_data_key()
    );
    println!();
    println!("[identity]");
    println!("# keep it fixed: it keys the CI hashes shops compare");
    println!("ci_hash_key = \"{}\"", random_text(32));
}

/// `check-config`: the configuration's own rules, then one call per PG store.
async fn check_config(config: &ServerConfig) -> ExitCode {
    if let Err(error) = config.validate() {
        eprintln!("configuration: {error}");
        return ExitCode::FAILURE;
    }
    let gateways = match payments_server::vendors::configured(&config.vendors) {
        Ok(gateways) => gateways,
        Err(error) => {
            eprintln!("http client: {error}");
            return ExitCode::FAILURE;
        }
    };
    if gateways.is_empty() {
        println!("no PG store is configured ([vendors] toss / iamport)");
    }
    let checks = payments_server::vendors::check::check_credentials(&gateways).await;
    let mut ok = true;
    for check in &checks {
        println!("{check}");
        ok &= check.outcome == payments_server::vendors::check::CheckOutcome::Accepted;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Ctrl-C, or SIGTERM where there is one (service managers stop with it).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    if let Some(Command::Keygen { compat }) = cli.command {
        keygen(compat);
        return ExitCode::SUCCESS;
    }
    let mut config = match &cli.config {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => match ServerConfig::from_toml(&text) {
                Ok(config) => config,
                Err(error) => {
                    eprintln!("{}: {error}", path.display());
                    return ExitCode::FAILURE;
                }
            },
            Err(error) => {
                eprintln!("{}: {error}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => ServerConfig::default(),
    };
    if let Err(error) = config.apply_env(std::env::vars()) {
        eprintln!("{error}");
        return ExitCode::FAILURE;
    }
    if let Some(Command::CheckConfig) = cli.command {
        return check_config(&config).await;
    }
    // Kept alive for as long as the server runs.
    let fakes: Option<demo::Fakes> = if cli.demo {
        match demo::start(&mut config).await {
            Ok(fakes) => Some(fakes),
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    if !cli.demo && config.data_keys.keys.is_empty() {
        eprintln!("data_keys: configure at least one data key (payments-server keygen prints one)");
        return ExitCode::FAILURE;
    }
    let server = match PaymentServer::builder().config(config).start().await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("payments-server listening on {}", server.uri());
    stop_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    // The fakes (if any) stop only after the server did.
    let _ = fakes;
    ExitCode::SUCCESS
}

/// `--demo`: the fake PGs in-process, and the configuration that points at them.
#[cfg(feature = "demo")]
mod demo {
    use payments_core::secret::Secret;
    use payments_server::config::{IamportStore, PortOneStore, ServerConfig, TossStore};

    /// The running fakes; the server talks to them for as long as they live.
    pub struct Fakes {
        _toss: fake_toss::FakeToss,
        _iamport: fake_iamport::FakeIamport,
        _portone: fake_portone::FakePortOne,
    }

    /// Starts the fakes and adds a `demo` store for each to `config`.
    ///
    /// # Errors
    /// Never: the signature matches the build without the feature.
    pub async fn start(config: &mut ServerConfig) -> Result<Fakes, String> {
        let toss = fake_toss::FakeToss::start().await;
        let iamport = fake_iamport::FakeIamport::start().await;
        let portone = fake_portone::FakePortOne::start().await;
        let (imp_key, imp_secret) = iamport.credentials();
        config.vendors.portone.push(PortOneStore {
            store_id: "demo".into(),
            base_url: portone.uri(),
            api_secret: Secret::new(portone.api_secret().to_owned()),
            portone_store_id: portone.store_id().to_owned(),
            webhook_secret: Secret::new(portone.webhook_secret().to_owned()),
        });
        config.vendors.toss.push(TossStore {
            store_id: "demo".into(),
            base_url: toss.uri(),
            secret_key: Secret::new(toss.secret_key().to_owned()),
        });
        config.vendors.iamport.push(IamportStore {
            store_id: "demo".into(),
            base_url: iamport.uri(),
            imp_key,
            imp_secret: Secret::new(imp_secret),
        });
        // Local receivers are what a demo delivers to (plain http on this machine).
        for host in ["127.0.0.1", "localhost", "::1"] {
            if !config.webhooks.allow_hosts.iter().any(|h| h == host) {
                config.webhooks.allow_hosts.push(host.to_owned());
            }
        }
        config.webhooks.allow_insecure = true;
        if config.envelopes.sealed_v2_secret.expose().is_empty() {
            config.envelopes.sealed_v2_secret = Secret::new("demo-sealed-v2-secret".into());
        }
        // Only the demo gets a CI hash key it did not configure (start-up refuses a
        // configuration without one).
        if config.identity.ci_hash_key.expose().is_empty() {
            config.identity.ci_hash_key = Secret::new("demo-ci-hash-key-0123456789".into());
        }
        if config.data_keys.keys.is_empty() {
            config.database = ":memory:".into();
        }
        println!(
            "demo: fake-toss at {} (secret key {})",
            toss.uri(),
            toss.secret_key()
        );
        println!("demo: fake-iamport at {}", iamport.uri());
        println!(
            "demo: fake-portone at {} (API secret {}, storeId {})",
            portone.uri(),
            portone.api_secret(),
            portone.store_id()
        );
        println!(
            "demo: store id \"demo\" for each; sealed-v2 secret \"demo-sealed-v2-secret\" unless configured"
        );
        Ok(Fakes {
            _toss: toss,
            _iamport: iamport,
            _portone: portone,
        })
    }
}

/// A binary built without the `demo` feature has no fakes to start.
#[cfg(not(feature = "demo"))]
mod demo {
    use payments_server::config::ServerConfig;

    /// Nothing to keep alive.
    pub struct Fakes;

    /// Refuses `--demo`.
    ///
    /// # Errors
    /// Always: this build has no fake PGs.
    pub async fn start(_config: &mut ServerConfig) -> Result<Fakes, String> {
        Err("--demo: this binary was built without the `demo` feature".into())
    }
}
