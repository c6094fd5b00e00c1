//! Runs every example (`examples/*.rs`) and checks it exits 0 with the key lines of
//! its transcript, so an example that stops working — or silently stops doing what
//! its transcript says — fails the suite.
//!
//! `cargo test` builds the examples before it runs tests, so this test runs the built
//! binaries directly: `target/<profile>/deps/examples-…` (this test) →
//! `target/<profile>/examples/NAME`. A missing binary is a failure, never a skip (run
//! `cargo test -p payments`, or `cargo build --examples` before `cargo test --test
//! examples`, which builds only the named test).

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every example and lines its transcript must contain.
const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "quickstart",
        &[
            "server verified it with Toss and recorded history",
            "receiver got webhook",
            "full cancel: refunded 50,000 KRW",
            "done",
        ],
    ),
    (
        "kiosk",
        &[
            "basket with a sold-out item: refused 422 INVALID_ORDER",
            "empty basket: refused 422 INVALID_ORDER",
            "screen: 승인 완료 — total ₩5,000",
            "scanned after 21 s: refused",
            "coupon: ₩1,500 off",
            "refused 403 WRONG_PASSWORD",
            "the PIN unlocked the card; charged ₩4,000",
            "kiosk: done",
        ],
    ),
    (
        "shop",
        &[
            "second sign-up by the same person: refused",
            "double click: both requests answered history",
            "one paid order: history",
            "reached the server: Delivered",
            "nothing cancelled",
            "refused (not the owner)",
            "refused 422 ORDER_MISMATCH",
            "shop: done",
        ],
    ),
    (
        "gift",
        &[
            "issued to tel:01098765432",
            "inbox: 1 gift from tel:01012345678",
            "refused 403 COUPON_FOREIGN",
            "the same gift again: refused 409 COUPON_SPENT",
            "refused 422 ORDER_MISMATCH",
            "refused 422 AMOUNT_MISMATCH",
            "changed nothing",
            "gift: done",
        ],
    ),
];

/// How long one example may run before it counts as hung (each takes well under a
/// second on a laptop; the margin is for a loaded CI machine).
const DEADLINE: Duration = Duration::from_secs(120);

/// `target/<profile>/examples/NAME`, found from this test's own path.
fn example_binary(name: &str) -> PathBuf {
    let test = std::env::current_exe().expect("the test binary knows its own path");
    // target/<profile>/deps/examples-HASH → target/<profile>
    let profile = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    profile
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

struct Run {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs one example binary to completion (or kills it at the deadline).
fn run(name: &str) -> Result<Run, String> {
    let binary = example_binary(name);
    if !binary.is_file() {
        return Err(format!(
            "example binary {} is missing: run `cargo test -p payments` (which builds the \
             examples) or `cargo build --examples` first",
            binary.display()
        ));
    }
    let mut child = Command::new(&binary)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", binary.display()))?;
    // Drain both pipes on their own threads so a chatty example cannot block on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "example {name} still running after {DEADLINE:?}; killed"
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for example {name}: {e}")),
        }
    };
    Ok(Run {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// What is wrong with one example's run, if anything.
fn check(name: &str, expected: &[&str]) -> Option<String> {
    let run = match run(name) {
        Ok(run) => run,
        Err(problem) => return Some(problem),
    };
    let transcript = || {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            run.stdout, run.stderr
        )
    };
    if !run.status.success() {
        return Some(format!(
            "example {name} exited with {}\n{}",
            run.status,
            transcript()
        ));
    }
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|line| !run.stdout.contains(line))
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "example {name}'s transcript lacks {missing:?}\n{}",
            transcript()
        ));
    }
    None
}

#[test]
fn every_example_runs_and_says_what_it_did() {
    // Each example boots its own fakes and server on port 0, so they run side by side.
    let runs: Vec<_> = EXAMPLES
        .iter()
        .map(|&(name, expected)| std::thread::spawn(move || check(name, expected)))
        .collect();
    let problems: Vec<String> = runs
        .into_iter()
        .zip(EXAMPLES)
        .filter_map(|(run, (name, _))| {
            run.join()
                .unwrap_or_else(|_| Some(format!("checking example {name} panicked")))
        })
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn every_example_file_is_checked() {
    // A new example must be added to EXAMPLES, or it would never be run.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .expect("the examples directory exists")
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let path = entry.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    found.sort();
    let mut checked: Vec<String> = EXAMPLES
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    checked.sort();
    assert_eq!(
        found, checked,
        "examples/ and EXAMPLES in tests/examples.rs differ"
    );
}
