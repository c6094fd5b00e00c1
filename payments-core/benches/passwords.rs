//! Criterion bench: PBKDF2 password hashing at the OWASP count (600,000) and at a low
//! count, verification at the low count, and the keyed record-password hash
//! (HMAC-SHA256): hash, verify, and verify of a PBKDF2 form with its upgrade.
//!
//! `cargo bench -p payments-core --bench passwords -- --warm-up-time 1 --measurement-time 3`

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use payments_core::envelope::SealedV2Key;
use payments_core::password::{
    OWASP_PBKDF2_SHA256_ITERATIONS, PasswordHasher, RecordPasswordKey, RecordPasswordKeys,
    verify_password,
};

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

    // Microseconds: the default sampling suits it.
    let mut group = c.benchmark_group("record-password");
    let data_key = SealedV2Key::from_bytes([42; 64]);
    let keys =
        RecordPasswordKeys::new(RecordPasswordKey::derive("k1", &data_key).unwrap(), []).unwrap();
    let keyed = keys.hash("pw");
    group.bench_function("hash hmac-sha256", |b| {
        b.iter(|| keys.hash(black_box("correct horse battery staple")))
    });
    group.bench_function("verify hmac-sha256", |b| {
        b.iter(|| keys.verify(black_box(&keyed), black_box("pw")).unwrap())
    });
    group.bench_function("verify hmac-sha256 wrong", |b| {
        b.iter(|| keys.verify(black_box(&keyed), black_box("nope")).unwrap())
    });
    group.bench_function(BenchmarkId::new("verify+upgrade pbkdf2", 1_000), |b| {
        b.iter(|| keys.verify(black_box(&stored), black_box("pw")).unwrap())
    });
    group.finish();
}

criterion_group!(benches, passwords);
criterion_main!(benches);
