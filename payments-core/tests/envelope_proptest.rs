//! Property tests: arbitrary JSON round-trips through both envelopes; arbitrary bytes and
//! strings fed to the openers are errors or plaintext, never panics.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use payments_core::envelope::{Binding, CompatKey, EnvelopeError, SealedV2Key};
use proptest::prelude::*;
use serde_json::Value;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        // Any Unicode, Hangul and control characters included.
        any::<String>().prop_map(Value::String),
        "[가-힣 a-z0-9]{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn sealed_key(bytes: [u8; 32]) -> SealedV2Key {
    let mut full = [0u8; 64];
    full[..32].copy_from_slice(&bytes);
    full[32..].copy_from_slice(&bytes.map(|b| b ^ 0x5c));
    SealedV2Key::from_bytes(full)
}

fn compat_key() -> CompatKey {
    CompatKey::new("payments-compat-key-32-bytes-abc", "iv-0123456789abc").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn json_round_trips_through_both_envelopes(
        value in json_value(),
        key in any::<[u8; 32]>(),
        method in "[A-Z]{1,7}",
        path in "/[a-z0-9/_-]{0,40}",
        timestamp_ms in any::<i64>(),
    ) {
        let text = serde_json::to_vec(&value).unwrap();
        let binding = Binding { method: &method, path: &path, timestamp_ms, idempotency_key: None  };

        let sealed = sealed_key(key);
        let body = sealed.seal(&text, &binding);
        let opened = sealed.open(&body, &binding).unwrap();
        // Bytes, not values: serde_json's float parsing is not bit-exact without its
        // `float_roundtrip` feature, and the envelope must return exactly what it sealed.
        prop_assert_eq!(&opened, &text);
        prop_assert!(serde_json::from_slice::<Value>(&opened).is_ok());
        let at_rest = sealed.seal_aad(&text, path.as_bytes());
        prop_assert_eq!(sealed.open_aad(&at_rest, path.as_bytes()).unwrap(), text.clone());

        let compat = compat_key();
        let body = compat.encrypt(&text);
        let opened = compat.decrypt(&body).unwrap();
        prop_assert_eq!(&opened, &text);
        prop_assert!(serde_json::from_slice::<Value>(&opened).is_ok());
    }

    #[test]
    fn arbitrary_strings_never_panic(body in any::<String>()) {
        let binding = Binding { method: "POST", path: "/p", timestamp_ms: 1, idempotency_key: None  };
        let sealed = sealed_key([1; 32]);
        let _ = sealed.open(&body, &binding);
        let _ = compat_key().decrypt(&body);
    }

    #[test]
    fn arbitrary_base64_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        // Valid base64, so the bytes reach the layout, tag and padding checks.
        let body = STANDARD.encode(&bytes);
        let binding = Binding { method: "POST", path: "/p", timestamp_ms: 1, idempotency_key: None  };
        let sealed = sealed_key([2; 32]);
        prop_assert!(sealed.open(&body, &binding).is_err());
        prop_assert!(sealed.open_aad(&bytes, b"").is_err());
        match compat_key().decrypt(&body) {
            // An empty body is the empty result (§1.1); otherwise only whole blocks
            // with valid padding decrypt.
            Ok(plaintext) if bytes.is_empty() => prop_assert!(plaintext.is_empty()),
            Ok(plaintext) => {
                prop_assert!(bytes.len() % 16 == 0);
                prop_assert!(plaintext.len() < bytes.len());
            }
            Err(EnvelopeError::Truncated) => prop_assert!(bytes.len() % 16 != 0),
            Err(error) => prop_assert_eq!(error, EnvelopeError::Decrypt),
        }
    }

    #[test]
    fn sealed_prefix_with_random_tail_never_panics(
        tail in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        // A correct version byte with random IV, ciphertext and tag: always a bad tag
        // or a truncation, never a panic.
        let mut bytes = vec![0x02];
        bytes.extend_from_slice(&tail);
        let sealed = sealed_key([3; 32]);
        let binding = Binding { method: "GET", path: "/", timestamp_ms: 0, idempotency_key: None  };
        let result = sealed.open(&STANDARD.encode(&bytes), &binding);
        prop_assert!(matches!(result, Err(EnvelopeError::BadTag | EnvelopeError::Truncated)));
    }
}
