//! Criterion bench: password hashing at the OWASP count (600,000) and at a low count,
//! and verification at the low count.
//!
//! `cargo bench -p payments-core --bench passwords -- --warm-up-time 1 --measurement-time 3`

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use payments_core::password::{OWASP_PBKDF2_SHA256_ITERATIONS, PasswordHasher, verify_password};

fn passwords(c: &mut Criterion) {
    let mut group = c.benchmark_group("password");
    // One OWASP hash takes a sizeable fraction of a second: few samples, and room for them.
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    for iterations in [OWASP_PBKDF2_SHA256_ITERATIONS, 1_000] {
        let hasher = PasswordHasher::new(iterations).unwrap();
        group.bench_function(BenchmarkId::new("hash", iterations), |b| {
            b.iter(|| hasher.hash(black_box("correct horse battery staple")))
        });
    }
    let stored = PasswordHasher::new(1_000).unwrap().hash("pw");
    group.bench_function(BenchmarkId::new("verify", 1_000), |b| {
        b.iter(|| verify_password(black_box(&stored), black_box("pw")).unwrap())
    });
    group.finish();
}

criterion_group!(benches, passwords);
criterion_main!(benches);
