//! The install story, checked from outside: a fresh crate in a temporary directory (not a
//! workspace member, none of the workspace's profile settings) takes the README's
//! "Add it to your project" lines verbatim, with the path pointed at this checkout, and
//! every ```rust block of README.md as its code:
//!
//! - blocks that name only `payments::client` / `payments::core` go into the crate's
//!   library and are checked with the `[dependencies]` line alone (`cargo check`), so
//!   production code really compiles with the minimal features;
//! - blocks that boot the server or a fake go into `tests/readme.rs` and are checked with
//!   the `[dev-dependencies]` too (`cargo check --tests`).
//!
//! A README block must also read as real Rust on its own, so one with rustdoc's hidden
//! `# ` lines fails here. (The blocks also run or compile as the umbrella's doctests,
//! where the workspace's features and profile apply; this test is about what a new
//! project sees.)
//!
//! Cost: `cargo check` only (no code generation), offline, with the workspace's
//! `Cargo.lock` so the versions are the ones CI built, into `target/install-check` so a
//! second run is a no-op.

use std::path::{Path, PathBuf};
use std::process::Command;

const INSTALL_HEADING: &str = "## Add it to your project";
/// The path the README's install lines use for the checkout.
const README_PATH: &str = "../payments";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fenced code blocks of `markdown`: `(info string, body)`.
fn code_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in markdown.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some((info.trim().to_owned(), String::new())),
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "README.md has an unclosed code block");
    blocks
}

/// The first ```toml block after the install heading, with the checkout's real path.
fn install_lines(readme: &str) -> String {
    let section = readme
        .split_once(INSTALL_HEADING)
        .unwrap_or_else(|| panic!("README.md has no {INSTALL_HEADING:?} section"))
        .1;
    let (_, toml) = code_blocks(section)
        .into_iter()
        .find(|(info, _)| info == "toml")
        .expect("the install section has no ```toml block");
    assert!(
        toml.contains(README_PATH),
        "the install lines no longer use the path {README_PATH:?}; update tests/install.rs:\n{toml}"
    );
    toml.replace(README_PATH, &workspace().display().to_string())
}

/// Every ```rust block, as `(uses the server or a fake, code)`.
fn rust_snippets(readme: &str) -> Vec<(bool, String)> {
    let snippets: Vec<(bool, String)> = code_blocks(readme)
        .into_iter()
        .filter(|(info, _)| info.split(',').next() == Some("rust"))
        .map(|(_, code)| {
            let hidden: Vec<&str> = code
                .lines()
                .filter(|l| l.trim_start() == "#" || l.trim_start().starts_with("# "))
                .collect();
            assert!(
                hidden.is_empty(),
                "a README snippet has rustdoc hidden lines, which GitHub shows as they are \
                 (not Rust); write the snippet out in full: {hidden:?}"
            );
            let dev = [
                "payments::server",
                "payments::fake_toss",
                "payments::fake_iamport",
            ]
            .iter()
            .any(|path| code.contains(path));
            (dev, code)
        })
        .collect();
    assert!(
        snippets.iter().any(|(dev, _)| !dev) && snippets.iter().any(|(dev, _)| *dev),
        "expected both production and test snippets in README.md"
    );
    snippets
}

fn modules(snippets: &[(bool, String)], dev: bool) -> String {
    let mut out = String::from("#![allow(dead_code)]\n");
    for (i, (_, code)) in snippets.iter().enumerate().filter(|(_, s)| s.0 == dev) {
        out.push_str(&format!(
            "\n/// README.md, rust block {}.\nmod readme_{i} {{\n{code}}}\n",
            i + 1
        ));
    }
    out
}

fn write(path: &Path, contents: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// Runs `cargo check ARGS` in `dir`; on failure, panics with what was checked and why.
fn cargo_check(dir: &Path, args: &[&str], what: &str) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = workspace().join("target").join("install-check");
    let output = Command::new(&cargo)
        .arg("check")
        .args(["--offline", "--message-format", "short"])
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        // What the outer `cargo test` set for this process must not steer the inner build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .output()
        .unwrap_or_else(|e| panic!("could not run {cargo}: {e}"));
    if !output.status.success() {
        let files: Vec<String> = ["Cargo.toml", "src/lib.rs", "tests/readme.rs"]
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(dir.join(f)).unwrap_or_default();
                format!("--- {f}\n{text}")
            })
            .collect();
        panic!(
            "\nA new project that follows README.md does not build: {what}.\n\
             `cargo check {}` in a crate outside the workspace failed ({}).\n\n\
             cargo said:\n{}\n\nThe crate was:\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr),
            files.join("\n")
        );
    }
}

#[test]
fn a_new_project_builds_with_the_readme_install_lines_and_snippets() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let manifest = format!(
        "[package]\nname = \"readme-shop\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         {}\n# Not part of any workspace.\n[workspace]\n",
        install_lines(&readme)
    );
    let snippets = rust_snippets(&readme);

    let scratch = tempfile::Builder::new()
        .prefix("payments-install-")
        .tempdir()
        .unwrap();
    let dir = scratch.path();
    assert!(
        !dir.starts_with(workspace()),
        "the scratch crate must live outside the workspace"
    );
    write(&dir.join("Cargo.toml"), &manifest);
    // The versions CI already has: no registry look-up, nothing new to download.
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    write(&dir.join("src/lib.rs"), &modules(&snippets, false));
    write(&dir.join("tests/readme.rs"), &modules(&snippets, true));

    cargo_check(
        dir,
        &[],
        "the production snippets with the [dependencies] line alone (feature `client`)",
    );
    cargo_check(
        dir,
        &["--tests"],
        "the test snippets with the [dev-dependencies] line (features `server`, `fakes`)",
    );
}

#[test]
fn code_blocks_are_split_as_markdown_fences() {
    let md = "text\n```toml\na = 1\n```\n\n```rust,no_run\nfn main() {}\n```\n";
    assert_eq!(
        code_blocks(md),
        vec![
            ("toml".to_owned(), "a = 1\n".to_owned()),
            ("rust,no_run".to_owned(), "fn main() {}\n".to_owned()),
        ]
    );
}
