//! `payments-bench`: `cargo run -p payments-bench --release -- [SCENARIO...] --duration 5s
//! --concurrency 64 --scale 10000,100000,1000000 --json`.

use clap::Parser;
use payments_bench::options::Options;
use std::process::ExitCode;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let options = Options::parse();
    match payments_bench::run(&options).await {
        Ok(report) => {
            if options.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(error) => {
                        eprintln!("payments-bench: cannot write JSON: {error}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", report.render());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("payments-bench: {error}");
            ExitCode::FAILURE
        }
    }
}
