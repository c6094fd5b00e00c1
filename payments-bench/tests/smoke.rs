//! Every scenario runs for a handful of operations and yields its rows with zero
//! errors, so CI proves the bench still works. No timing is asserted.

use clap::Parser;
use payments_bench::options::{Options, Scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_yields_rows_without_errors() {
    let options = Options::parse_from([
        "payments-bench",
        "--count",
        "6",
        "--concurrency",
        "2",
        "--scale",
        "50,200",
        "--preload",
        "20",
        "--webhook-rate",
        "200",
        "--read-rate",
        "200",
        "--starts",
        "2",
        "--quiet",
    ]);
    let report = payments_bench::run(&options).await.expect("the bench runs");
    let text = report.render();
    for scenario in Scenario::ALL {
        assert!(
            report.rows.iter().any(|row| row.scenario == scenario),
            "no row for {}:\n{text}",
            scenario.name()
        );
    }
    for row in &report.rows {
        assert_eq!(row.errors, 0, "{} had errors:\n{text}", row.label);
        if row.scenario == Scenario::Charge {
            continue;
        }
        assert!(
            row.operations > 0,
            "{} measured nothing:\n{text}",
            row.label
        );
    }
    let labels: Vec<&str> = report.rows.iter().map(|row| row.label.as_str()).collect();
    for expected in [
        "baseline",
        "history-read",
        "history-read open-loop 200/s",
        "history-create",
        "webhook 200/s",
        "charge",
        "flood guesses",
        "flood health",
        "flood read",
        "start fake-toss",
        "start fake-iamport",
        "start fake-portone",
        "start wiremock",
        "start wiremock builder",
        "fake-lookup fake-toss",
        "fake-lookup wiremock for fake-toss",
        "fake-lookup fake-iamport",
        "fake-lookup wiremock for fake-iamport",
        "fake-lookup fake-portone",
        "fake-lookup wiremock for fake-portone",
        "scale 50",
        "scale 200",
    ] {
        assert!(
            labels.contains(&expected),
            "no {expected:?} row in {labels:?}"
        );
    }
    // Counts are exact in count mode; the table and JSON carry every row.
    let read = report.row("history-read").expect("read row");
    assert_eq!(read.operations, 6);
    assert!(
        text.contains("the server at its default configuration"),
        "{text}"
    );
    let json = serde_json::to_value(&report).expect("JSON");
    assert_eq!(
        json["rows"].as_array().map(Vec::len),
        Some(report.rows.len())
    );
    assert_eq!(report.targets.len(), 9, "{text}");
}

/// `--database` adds the read, create and webhook rows on PostgreSQL, one instance and
/// two on one database, beside SQLite's; every one runs without errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_rows_run_beside_sqlite_with_one_and_two_instances() {
    let Some(postgres) = test_postgres::TestPostgres::shared_or_skip("the bench's PostgreSQL rows")
    else {
        return;
    };
    let options = Options::parse_from([
        "payments-bench",
        "history-read",
        "history-create",
        "webhook",
        "--count",
        "6",
        "--concurrency",
        "2",
        "--preload",
        "20",
        "--webhook-rate",
        "200",
        "--read-rate",
        "200",
        "--quiet",
        "--database",
        postgres.url(),
    ]);
    let report = payments_bench::run(&options).await.expect("the bench runs");
    let text = report.render();
    for label in [
        "history-read",
        "history-read postgres",
        "history-read postgres x2",
        "history-create",
        "history-create postgres",
        "history-create postgres x2",
        "webhook 200/s",
        "webhook 200/s postgres",
        "webhook 200/s postgres x2",
    ] {
        let row = report
            .rows
            .iter()
            .find(|row| row.label == label)
            .unwrap_or_else(|| panic!("no {label:?} row:\n{text}"));
        assert_eq!(row.errors, 0, "{label} had errors:\n{text}");
        assert_eq!(row.operations, 6, "{label}:\n{text}");
    }
    let error = payments_bench::run(&Options::parse_from([
        "payments-bench",
        "baseline",
        "--database",
        "mysql://nope",
    ]))
    .await
    .unwrap_err();
    assert!(error.to_string().contains("--database"), "{error}");
}
