//! Criterion bench: both envelopes, seal and open, at 64 B, 1 KiB and 64 KiB, next to the
//! raw cost of the same crates (AES-256-CBC-PKCS#7 + base64, no HMAC, pre-expanded key)
//! so the envelopes' overhead can be stated as a ratio.
//!
//! `cargo bench -p payments-core --bench envelopes -- --warm-up-time 1 --measurement-time 3`

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use aes::cipher::{
    BlockDecryptMut, BlockEncryptMut, InnerIvInit, KeyInit, KeyIvInit, block_padding::Pkcs7,
};
use aes::{Aes256Dec, Aes256Enc};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use payments_core::envelope::{Binding, CompatKey, SealedV2Key};

const SIZES: [usize; 3] = [64, 1024, 64 * 1024];
const KEY: &str = "payments-compat-key-32-bytes-abc";
const IV: &str = "iv-0123456789abc";

fn plaintext(len: usize) -> Vec<u8> {
    // JSON-ish bytes; the content does not change the cost.
    let pattern = br#"{"price":12000,"id":"x"}"#;
    pattern.iter().copied().cycle().take(len).collect()
}

fn envelopes(c: &mut Criterion) {
    let compat = CompatKey::new(KEY, IV).unwrap();
    let sealed = SealedV2Key::from_bytes([42; 64]);
    let binding = Binding {
        method: "POST",
        path: "/payments/histories",
        timestamp_ms: 1_763_694_245_678,
        idempotency_key: None,
    };
    let key = KEY.as_bytes();
    let iv: [u8; 16] = IV.as_bytes().try_into().unwrap();
    let raw_enc = Aes256Enc::new(key.into());
    let raw_dec = Aes256Dec::new(key.into());

    for size in SIZES {
        let data = plaintext(size);
        let mut group = c.benchmark_group(format!("envelope/{size}B"));
        group.throughput(Throughput::Bytes(size as u64));

        group.bench_function(BenchmarkId::new("raw_cbc_base64", "encrypt"), |b| {
            b.iter(|| {
                let ct = cbc::Encryptor::<&Aes256Enc>::inner_iv_init(&raw_enc, &iv.into())
                    .encrypt_padded_vec_mut::<Pkcs7>(black_box(&data));
                STANDARD.encode(ct)
            })
        });
        let raw_body = {
            let ct = cbc::Encryptor::<aes::Aes256>::new(key.into(), &iv.into())
                .encrypt_padded_vec_mut::<Pkcs7>(&data);
            STANDARD.encode(ct)
        };
        group.bench_function(BenchmarkId::new("raw_cbc_base64", "decrypt"), |b| {
            b.iter(|| {
                let mut buf = STANDARD.decode(black_box(&raw_body)).unwrap();
                let len = cbc::Decryptor::<&Aes256Dec>::inner_iv_init(&raw_dec, &iv.into())
                    .decrypt_padded_mut::<Pkcs7>(&mut buf)
                    .unwrap()
                    .len();
                buf.truncate(len);
                buf
            })
        });

        group.bench_function(BenchmarkId::new("compat", "encrypt"), |b| {
            b.iter(|| compat.encrypt(black_box(&data)))
        });
        let compat_body = compat.encrypt(&data);
        assert_eq!(compat_body, raw_body, "compat is AES-256-CBC + base64");
        group.bench_function(BenchmarkId::new("compat", "decrypt"), |b| {
            b.iter(|| compat.decrypt(black_box(&compat_body)).unwrap())
        });

        group.bench_function(BenchmarkId::new("sealed_v2", "seal"), |b| {
            b.iter(|| sealed.seal(black_box(&data), &binding))
        });
        // Without the OS random-number call, to show what the IV costs.
        group.bench_function(BenchmarkId::new("sealed_v2", "seal_fixed_iv"), |b| {
            b.iter(|| sealed.seal_with_iv(black_box(&data), &binding, [9; 16]))
        });
        let sealed_body = sealed.seal(&data, &binding);
        group.bench_function(BenchmarkId::new("sealed_v2", "open"), |b| {
            b.iter(|| sealed.open(black_box(&sealed_body), &binding).unwrap())
        });
        group.finish();
    }
}

criterion_group!(benches, envelopes);
criterion_main!(benches);
