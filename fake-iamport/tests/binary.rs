//! The `fake-iamport` binary serves the same API with the credentials it is given.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// Kills the child even when an assertion fails.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_serves_the_api() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_fake-iamport"))
            .args(["--port", "0", "--imp-key", "KEY", "--imp-secret", "SECRET"])
            .args(["--webhook-url", "http://127.0.0.1:9/hook"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("binary starts"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let uri = line
        .trim()
        .rsplit(' ')
        .next()
        .expect("uri printed")
        .to_owned();
    assert!(uri.starts_with("http://127.0.0.1:"), "{line}");

    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{uri}/users/getToken"))
        .json(&json!({"imp_key": "KEY", "imp_secret": "SECRET"}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(token["code"], json!(0));
    let default_pair: Value = http
        .post(format!("{uri}/users/getToken"))
        .json(&json!({"imp_key": "imp_key_fake", "imp_secret": "imp_secret_fake"}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(default_pair["code"], json!(-1));
    let access = token["response"]["access_token"].as_str().expect("token");
    let missing = http
        .get(format!("{uri}/payments/imp_000000000000"))
        .header("Authorization", format!("Bearer {access}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status(), 404);
}
