//! Bad input to both envelopes is an error, never a panic: tampering, truncation, wrong
//! keys, wrong bindings, non-base64, bad padding; plus key construction, freshness,
//! kinds and masked `Debug`.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use payments_core::envelope::{
    Binding, COMPAT_CONTENT_TYPE, CompatKey, Envelope, EnvelopeError, EnvelopeKind, MAX_SKEW_MS,
    SEALED_V2_CONTENT_TYPE, SealedV2Key, check_freshness, parse_timestamp,
};

const KEY256: &str = "payments-compat-key-32-bytes-abc";
const KEY128: &str = "nestia-compat-16";
const IV: &str = "iv-0123456789abc";
const PLAINTEXT: &[u8] =
    br#"{"source":{"schema":"shop","table":"orders","id":"o-1"},"price":12000}"#;

fn sealed_key(seed: u8) -> SealedV2Key {
    let mut bytes = [0u8; 64];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = seed.wrapping_mul(31).wrapping_add(i as u8);
    }
    SealedV2Key::from_bytes(bytes)
}

fn binding() -> Binding<'static> {
    Binding {
        method: "POST",
        path: "/payments/histories",
        timestamp_ms: 1_763_694_245_678,
        idempotency_key: None,
    }
}

fn raw_body(key: &SealedV2Key) -> Vec<u8> {
    let body = key.seal_with_iv(PLAINTEXT, &binding(), [7; 16]);
    STANDARD.decode(body).unwrap()
}

#[test]
fn every_flipped_bit_of_a_sealed_body_is_rejected() {
    let key = sealed_key(1);
    let raw = raw_body(&key);
    assert_eq!(raw[0], 0x02);
    assert_eq!(raw.len(), 1 + 16 + 80 + 32);
    for byte in 0..raw.len() {
        for bit in 0..8 {
            let mut tampered = raw.clone();
            tampered[byte] ^= 1 << bit;
            let result = key.open(&STANDARD.encode(&tampered), &binding());
            let expected = if byte == 0 {
                EnvelopeError::UnknownVersion(0x02 ^ (1 << bit))
            } else {
                EnvelopeError::BadTag
            };
            assert_eq!(result, Err(expected), "byte {byte} bit {bit}");
            // The same for the raw at-rest form.
            let aad = binding().associated_data();
            assert!(
                key.open_aad(&tampered, &aad).is_err(),
                "aad byte {byte} bit {bit}"
            );
        }
    }
    assert_eq!(
        key.open(&STANDARD.encode(&raw), &binding()).unwrap(),
        PLAINTEXT
    );
}

#[test]
fn every_truncation_and_extension_of_a_sealed_body_is_rejected() {
    let key = sealed_key(2);
    let raw = raw_body(&key);
    for len in 0..raw.len() {
        let result = key.open(&STANDARD.encode(&raw[..len]), &binding());
        assert!(result.is_err(), "prefix of {len} bytes opened");
        let shortest_whole = 1 + 16 + 16 + 32;
        if len > 0 && (len < shortest_whole || (len - 49) % 16 != 0) {
            assert_eq!(
                result,
                Err(EnvelopeError::Truncated),
                "prefix of {len} bytes"
            );
        }
        // Dropping bytes from the front shifts the layout: never opens either.
        assert!(key.open_aad(&raw[raw.len() - len..], b"").is_err());
    }
    for extra in [1usize, 15, 16, 32] {
        let mut longer = raw.clone();
        longer.extend(std::iter::repeat_n(0u8, extra));
        assert!(
            key.open(&STANDARD.encode(&longer), &binding()).is_err(),
            "+{extra}"
        );
    }
}

#[test]
fn a_sealed_body_opens_only_under_its_key_and_binding() {
    let key = sealed_key(3);
    let body = key.seal(PLAINTEXT, &binding());
    assert_eq!(key.open(&body, &binding()).unwrap(), PLAINTEXT);
    assert_eq!(
        sealed_key(4).open(&body, &binding()),
        Err(EnvelopeError::BadTag)
    );
    let b = binding();
    for wrong in [
        Binding { method: "PUT", ..b },
        Binding {
            method: "post",
            ..b
        },
        Binding {
            path: "/payments/histories/",
            ..b
        },
        Binding {
            path: "/payments/reservations",
            ..b
        },
        Binding {
            timestamp_ms: b.timestamp_ms + 1,
            ..b
        },
        Binding {
            timestamp_ms: -b.timestamp_ms,
            ..b
        },
        // Moving bytes across the 0x00 separators changes the tag too.
        Binding {
            method: "POST/payments",
            path: "/histories",
            ..b
        },
    ] {
        assert_eq!(
            key.open(&body, &wrong),
            Err(EnvelopeError::BadTag),
            "{wrong:?}"
        );
    }
}

#[test]
fn sealed_bodies_get_a_fresh_iv_each_time() {
    let key = sealed_key(5);
    let a = key.seal(PLAINTEXT, &binding());
    let b = key.seal(PLAINTEXT, &binding());
    assert_ne!(a, b);
    assert_ne!(
        STANDARD.decode(&a).unwrap()[1..17],
        STANDARD.decode(&b).unwrap()[1..17]
    );
    assert_ne!(key.seal_aad(PLAINTEXT, b"r"), key.seal_aad(PLAINTEXT, b"r"));
}

#[test]
fn seal_aad_with_the_binding_bytes_is_the_wire_form() {
    let key = sealed_key(6);
    let raw = key.seal_aad(PLAINTEXT, &binding().associated_data());
    assert_eq!(
        key.open(&STANDARD.encode(&raw), &binding()).unwrap(),
        PLAINTEXT
    );
    assert_eq!(
        key.open_aad(&raw, &binding().associated_data()).unwrap(),
        PLAINTEXT
    );
    assert_eq!(key.open_aad(&raw, b"other"), Err(EnvelopeError::BadTag));
    let empty = key.seal_aad(b"", b"");
    assert_eq!(empty.len(), 1 + 16 + 16 + 32);
    assert_eq!(key.open_aad(&empty, b"").unwrap(), b"");
}

#[test]
fn sealed_open_names_what_is_wrong_with_malformed_bodies() {
    let key = sealed_key(7);
    assert_eq!(key.open("", &binding()), Err(EnvelopeError::Truncated));
    assert_eq!(
        key.open("not base64!", &binding()),
        Err(EnvelopeError::NotBase64)
    );
    assert_eq!(
        key.open("AQ==", &binding()),
        Err(EnvelopeError::UnknownVersion(1))
    );
    assert_eq!(key.open("Ag==", &binding()), Err(EnvelopeError::Truncated));
    let url_safe = key
        .seal(&[0xff; 300], &binding())
        .replace('+', "-")
        .replace('/', "_");
    if url_safe.contains(['-', '_']) {
        assert_eq!(
            key.open(&url_safe, &binding()),
            Err(EnvelopeError::NotBase64)
        );
    }
    // Surrounding whitespace is fine; whitespace inside is not base64.
    let body = key.seal(PLAINTEXT, &binding());
    assert_eq!(
        key.open(&format!("\n{body} \r\n"), &binding()).unwrap(),
        PLAINTEXT
    );
    let (head, tail) = body.split_at(8);
    assert_eq!(
        key.open(&format!("{head} {tail}"), &binding()),
        Err(EnvelopeError::NotBase64)
    );
}

#[test]
fn compat_survives_every_flipped_bit_without_panicking() {
    for key in [
        CompatKey::new(KEY256, IV).unwrap(),
        CompatKey::new(KEY128, IV).unwrap(),
    ] {
        let raw = STANDARD.decode(key.encrypt(PLAINTEXT)).unwrap();
        let mut errors = 0;
        for byte in 0..raw.len() {
            for bit in 0..8 {
                let mut tampered = raw.clone();
                tampered[byte] ^= 1 << bit;
                // No MAC: an altered body may decrypt, but never to the original, and
                // never panics.
                match key.decrypt(&STANDARD.encode(&tampered)) {
                    Ok(plaintext) => assert_ne!(plaintext, PLAINTEXT),
                    Err(error) => {
                        assert_eq!(error, EnvelopeError::Decrypt);
                        errors += 1;
                    }
                }
            }
        }
        // Flips in the last block's padding region are caught by the padding check.
        assert!(errors > 0);
        for len in 1..raw.len() {
            let result = key.decrypt(&STANDARD.encode(&raw[..len]));
            if len % 16 != 0 {
                assert_eq!(result, Err(EnvelopeError::Truncated), "{len}");
            }
        }
    }
}

#[test]
fn compat_with_the_wrong_key_or_iv_never_yields_the_plaintext() {
    let right = CompatKey::new(KEY256, IV).unwrap();
    let body = right.encrypt(PLAINTEXT);
    for wrong in [
        CompatKey::new("payments-compat-key-32-bytes-abd", IV).unwrap(),
        CompatKey::new(KEY256, "iv-0123456789abd").unwrap(),
        CompatKey::new(KEY128, IV).unwrap(),
    ] {
        match wrong.decrypt(&body) {
            Ok(plaintext) => assert_ne!(plaintext, PLAINTEXT),
            Err(error) => assert_eq!(error, EnvelopeError::Decrypt),
        }
    }
    // A wrong IV only garbles the first block (CBC): the rest still decrypts, which is
    // why compat is kept for interoperability only.
    let garbled = CompatKey::new(KEY256, "iv-0123456789abd")
        .unwrap()
        .decrypt(&body)
        .unwrap();
    assert_eq!(garbled[16..], PLAINTEXT[16..]);
}

#[test]
fn compat_empty_body_is_the_empty_result_and_empty_plaintext_is_one_block() {
    let key = CompatKey::new(KEY128, IV).unwrap();
    assert_eq!(key.decrypt("").unwrap(), b"");
    assert_eq!(key.decrypt(" \n").unwrap(), b"");
    let body = key.encrypt(b"");
    assert_eq!(STANDARD.decode(&body).unwrap().len(), 16);
    assert_eq!(key.decrypt(&body).unwrap(), b"");
    assert_eq!(key.decrypt("@@@@"), Err(EnvelopeError::NotBase64));
}

#[test]
fn compat_key_and_iv_lengths_are_checked() {
    assert!(CompatKey::new(KEY128, IV).is_ok());
    assert!(CompatKey::new(KEY256, IV).is_ok());
    for key in ["", "short", "twenty-four-bytes-key-ab", &KEY256.repeat(2)] {
        let error = CompatKey::new(key, IV).unwrap_err();
        assert_eq!(
            error,
            EnvelopeError::InvalidKeyLength {
                expected: "16 bytes (AES-128) or 32 bytes (AES-256)",
                actual: key.len()
            }
        );
        assert!(
            error
                .to_string()
                .contains(&format!("got {} bytes", key.len()))
        );
        assert!(
            key.is_empty() || !error.to_string().contains(key),
            "message shows the key"
        );
    }
    // Lengths are UTF-8 bytes: 8 Hangul syllables are 24 bytes, not 8 characters.
    assert_eq!(
        CompatKey::new("가나다라마바사아", IV).unwrap_err(),
        EnvelopeError::InvalidKeyLength {
            expected: "16 bytes (AES-128) or 32 bytes (AES-256)",
            actual: 24
        }
    );
    assert_eq!(
        CompatKey::new(KEY128, "iv").unwrap_err(),
        EnvelopeError::InvalidIvLength { actual: 2 }
    );
    assert_eq!(
        CompatKey::new(KEY128, "가나다라마바").unwrap_err(),
        EnvelopeError::InvalidIvLength { actual: 18 }
    );
}

#[test]
fn debug_never_prints_key_material() {
    let compat = CompatKey::new(KEY256, IV).unwrap();
    let sealed = SealedV2Key::derive("super-secret-sealing-passphrase");
    for text in [
        format!("{compat:?}"),
        format!("{sealed:?}"),
        format!("{:?}", Envelope::Compat(compat.clone())),
        format!("{:?}", Envelope::SealedV2(sealed.clone())),
    ] {
        assert!(!text.contains(KEY256) && !text.contains(IV), "{text}");
        assert!(!text.contains("super-secret"), "{text}");
        assert!(text.contains("***"), "{text}");
        // No long runs of hex or decimal bytes either.
        assert!(!text.contains("[0"), "{text}");
    }
    assert!(format!("{compat:?}").contains("AES-256-CBC"));
}

#[test]
fn clones_work_independently_of_the_original() {
    let key = sealed_key(8);
    let clone = key.clone();
    let body = key.seal(PLAINTEXT, &binding());
    drop(key);
    assert_eq!(clone.open(&body, &binding()).unwrap(), PLAINTEXT);
    let compat = CompatKey::new(KEY128, IV).unwrap();
    let compat_clone = compat.clone();
    let body = compat.encrypt(PLAINTEXT);
    drop(compat);
    assert_eq!(compat_clone.decrypt(&body).unwrap(), PLAINTEXT);
}

#[test]
fn freshness_allows_exactly_the_skew_either_way() {
    let now = 1_763_694_245_678;
    assert_eq!(check_freshness(now, now), Ok(()));
    assert_eq!(check_freshness(now - MAX_SKEW_MS, now), Ok(()));
    assert_eq!(check_freshness(now + MAX_SKEW_MS, now), Ok(()));
    assert_eq!(
        check_freshness(now - MAX_SKEW_MS - 1, now),
        Err(EnvelopeError::StaleTimestamp {
            timestamp_ms: now - MAX_SKEW_MS - 1,
            now_ms: now
        })
    );
    assert!(check_freshness(now + MAX_SKEW_MS + 1, now).is_err());
    // Extreme values do not overflow.
    assert!(check_freshness(i64::MIN, i64::MAX).is_err());
    assert!(check_freshness(i64::MAX, i64::MIN).is_err());
    assert_eq!(check_freshness(i64::MIN, i64::MIN), Ok(()));
    let message = check_freshness(0, now).unwrap_err().to_string();
    assert!(message.contains("300 s"), "{message}");
}

#[test]
fn timestamp_header_parsing() {
    assert_eq!(parse_timestamp("1763694245678"), Ok(1_763_694_245_678));
    assert_eq!(parse_timestamp(" 0 "), Ok(0));
    assert_eq!(parse_timestamp("-5"), Ok(-5));
    for bad in [
        "",
        " ",
        "+5",
        "1.5",
        "1e3",
        "12a",
        "-",
        "--1",
        "99999999999999999999",
    ] {
        assert_eq!(
            parse_timestamp(bad),
            Err(EnvelopeError::InvalidTimestamp),
            "{bad:?}"
        );
    }
}

#[test]
fn kinds_name_their_content_types_and_serde_names() {
    assert_eq!(EnvelopeKind::Compat.content_type(), COMPAT_CONTENT_TYPE);
    assert_eq!(
        EnvelopeKind::SealedV2.content_type(),
        SEALED_V2_CONTENT_TYPE
    );
    assert_eq!(EnvelopeKind::Compat.as_str(), "compat");
    assert_eq!(EnvelopeKind::SealedV2.to_string(), "sealed-v2");
    assert_eq!(
        serde_json::to_string(&EnvelopeKind::SealedV2).unwrap(),
        "\"sealed-v2\""
    );
    assert_eq!(
        serde_json::from_str::<EnvelopeKind>("\"compat\"").unwrap(),
        EnvelopeKind::Compat
    );
    assert!(serde_json::from_str::<EnvelopeKind>("\"sealed_v2\"").is_err());
    assert_eq!(
        EnvelopeKind::from_content_type("text/plain; charset=utf-8"),
        Some(EnvelopeKind::Compat)
    );
    assert_eq!(
        EnvelopeKind::from_content_type(" Application/Vnd.Payments.Sealed-V2 "),
        Some(EnvelopeKind::SealedV2)
    );
    assert_eq!(EnvelopeKind::from_content_type("application/json"), None);
    assert_eq!(EnvelopeKind::from_content_type(""), None);
}

#[test]
fn the_envelope_enum_dispatches_to_its_key() {
    let compat = Envelope::Compat(CompatKey::new(KEY256, IV).unwrap());
    let sealed = Envelope::SealedV2(sealed_key(9));
    assert_eq!(compat.kind(), EnvelopeKind::Compat);
    assert_eq!(sealed.kind(), EnvelopeKind::SealedV2);
    for envelope in [&compat, &sealed] {
        let body = envelope.seal(PLAINTEXT, &binding());
        assert_eq!(envelope.open(&body, &binding()).unwrap(), PLAINTEXT);
    }
    // compat ignores the binding; sealed-v2 does not.
    let other = Binding {
        path: "/elsewhere",
        ..binding()
    };
    assert!(
        compat
            .open(&compat.seal(PLAINTEXT, &binding()), &other)
            .is_ok()
    );
    assert_eq!(
        sealed.open(&sealed.seal(PLAINTEXT, &binding()), &other),
        Err(EnvelopeError::BadTag)
    );
    // A compat body is not a sealed-v2 body.
    assert!(
        sealed
            .open(&compat.seal(PLAINTEXT, &binding()), &binding())
            .is_err()
    );
}

#[test]
fn error_messages_say_what_was_wrong() {
    assert!(
        EnvelopeError::UnknownVersion(1)
            .to_string()
            .contains("0x01")
    );
    assert!(EnvelopeError::NotBase64.to_string().contains("base64"));
    assert!(EnvelopeError::Truncated.to_string().contains("truncated"));
    assert!(EnvelopeError::BadTag.to_string().contains("authentication"));
    assert!(EnvelopeError::Decrypt.to_string().contains("padding"));
}
