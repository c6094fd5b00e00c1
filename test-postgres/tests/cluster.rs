//! A throwaway cluster starts, answers SQL, hands out isolated databases and is gone
//! after drop.

use test_postgres::TestPostgres;

#[test]
fn a_throwaway_cluster_serves_isolated_databases_and_stops_on_drop() {
    let Some(postgres) = TestPostgres::start_or_skip("test-postgres cluster test") else {
        return;
    };
    assert_eq!(postgres.sql("SELECT 40 + 2").unwrap().trim(), "42");
    let first = postgres.create_database("cluster_test").unwrap();
    let second = postgres.create_database("cluster_test").unwrap();
    assert_ne!(first, second);
    let listed = postgres
        .sql("SELECT count(*) FROM pg_database WHERE datname LIKE 'cluster_test_%'")
        .unwrap();
    assert_eq!(listed.trim(), "2");
    assert!(
        postgres.sql("SELECT * FROM no_such_table").is_err(),
        "a failing command is an error"
    );

    if std::env::var(test_postgres::URL_VARIABLE).is_err() {
        let url = postgres.url().to_owned();
        drop(postgres);
        let port: u16 = url
            .rsplit(':')
            .next()
            .and_then(|rest| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap();
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "the cluster still listens after drop"
        );
    }
}

#[test]
fn the_shared_cluster_is_one_server_with_a_fresh_database_per_caller() {
    let Some(first) = TestPostgres::shared_or_skip("test-postgres shared cluster test") else {
        return;
    };
    let second = TestPostgres::shared().unwrap();
    assert_eq!(first.url(), second.url(), "one server per test binary");
    let a = first.create_database("shared_test").unwrap();
    let b = second.create_database("shared_test").unwrap();
    assert_ne!(a, b);
}
