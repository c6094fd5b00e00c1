//! The keyed record-password hash: round trips, wrong passwords, the stored form, key
//! derivation and rotation, upgrades from PBKDF2, malformed stored forms, and no secrets
//! in `Debug`.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use payments_core::envelope::SealedV2Key;
use payments_core::password::{
    KEYED_SCHEME, PasswordCheck, PasswordError, PasswordHasher, RecordPasswordKey,
    RecordPasswordKeys, verify_password,
};
use proptest::prelude::*;

fn data_key(seed: u8) -> SealedV2Key {
    let mut bytes = [0u8; 64];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = seed.wrapping_add(i as u8);
    }
    SealedV2Key::from_bytes(bytes)
}

fn key(id: &str, seed: u8) -> RecordPasswordKey {
    RecordPasswordKey::derive(id, &data_key(seed)).unwrap()
}

fn one(id: &str, seed: u8) -> RecordPasswordKeys {
    RecordPasswordKeys::new(key(id, seed), []).unwrap()
}

fn upgraded(check: PasswordCheck) -> String {
    match check {
        PasswordCheck::Upgrade { rehashed } => rehashed,
        other => panic!("expected an upgrade, got {other:?}"),
    }
}

#[test]
fn round_trip_and_wrong_password() {
    let keys = one("k1", 1);
    let stored = keys.hash("correct horse 배터리 staple");
    assert_eq!(
        keys.verify(&stored, "correct horse 배터리 staple"),
        Ok(PasswordCheck::Right)
    );
    assert_eq!(
        keys.verify(&stored, "correct horse 배터리 staplE"),
        Ok(PasswordCheck::Wrong)
    );
    assert_eq!(keys.verify(&stored, ""), Ok(PasswordCheck::Wrong));
    let empty = keys.hash("");
    assert_eq!(keys.verify(&empty, ""), Ok(PasswordCheck::Right));
    assert!(!keys.verify(&empty, " ").unwrap().is_right());
}

#[test]
fn stored_form_names_scheme_and_key_and_salts_every_hash() {
    let keys = one("k1", 1);
    let a = keys.hash("pw");
    let b = keys.hash("pw");
    assert_ne!(a, b, "a fresh salt per hash");
    let fields: Vec<&str> = a.split('$').collect();
    assert_eq!(fields.len(), 4);
    assert_eq!(fields[0], KEYED_SCHEME);
    assert_eq!(fields[1], "k1");
    assert_eq!(STANDARD.decode(fields[2]).unwrap().len(), 16);
    assert_eq!(STANDARD.decode(fields[3]).unwrap().len(), 32);
    assert!(!a.contains("pw$") && !a.ends_with("$pw"));
}

#[test]
fn the_key_is_derived_from_the_data_key_alone() {
    // The same data key bytes give the same record-password key (a restart verifies what
    // was hashed before it); another data key gives another.
    let stored = one("k1", 1).hash("pw");
    assert_eq!(one("k1", 1).verify(&stored, "pw"), Ok(PasswordCheck::Right));
    assert_eq!(one("k1", 2).verify(&stored, "pw"), Ok(PasswordCheck::Wrong));
    // It is not the data key's MAC key used directly: a key built from those bytes
    // does not verify the hash.
    let mut raw = [0u8; 32];
    for (i, b) in raw.iter_mut().enumerate() {
        *b = 1u8.wrapping_add(32 + i as u8);
    }
    let direct =
        RecordPasswordKeys::new(RecordPasswordKey::from_bytes("k1", raw).unwrap(), []).unwrap();
    assert_eq!(direct.verify(&stored, "pw"), Ok(PasswordCheck::Wrong));
}

#[test]
fn pbkdf2_hashes_verify_and_ask_for_an_upgrade() {
    let keys = one("k1", 1);
    let old = PasswordHasher::new(1_000).unwrap().hash("pw");
    assert_eq!(keys.verify(&old, "nope"), Ok(PasswordCheck::Wrong));
    let rehashed = upgraded(keys.verify(&old, "pw").unwrap());
    assert!(rehashed.starts_with("hmac-sha256$k1$"), "{rehashed}");
    assert_eq!(keys.verify(&rehashed, "pw"), Ok(PasswordCheck::Right));
    // The old function still reads PBKDF2 and refuses the keyed form clearly.
    assert_eq!(verify_password(&old, "pw"), Ok(true));
    assert_eq!(
        verify_password(&rehashed, "pw"),
        Err(PasswordError::UnknownScheme)
    );
}

#[test]
fn rotation_verifies_old_keys_and_rehashes_under_the_active_one() {
    let before = one("k1", 1);
    let stored = before.hash("pw");
    let after =
        RecordPasswordKeys::derive("k2", [("k1", &data_key(1)), ("k2", &data_key(2))]).unwrap();
    assert_eq!(after.active().id(), "k2");
    assert_eq!(after.verify(&stored, "wrong"), Ok(PasswordCheck::Wrong));
    let rehashed = upgraded(after.verify(&stored, "pw").unwrap());
    assert!(rehashed.starts_with("hmac-sha256$k2$"), "{rehashed}");
    assert_eq!(after.verify(&rehashed, "pw"), Ok(PasswordCheck::Right));
    // A key dropped from the configuration is named in the error.
    let only_k2 = one("k2", 2);
    assert_eq!(
        only_k2.verify(&stored, "pw"),
        Err(PasswordError::UnknownKeyId { id: "k1".into() })
    );
}

#[test]
fn key_sets_refuse_duplicates_and_a_missing_active_key() {
    assert_eq!(
        RecordPasswordKeys::new(key("k1", 1), [key("k1", 2)]).unwrap_err(),
        PasswordError::DuplicateKeyId { id: "k1".into() }
    );
    assert_eq!(
        RecordPasswordKeys::derive("k9", [("k1", &data_key(1))]).unwrap_err(),
        PasswordError::UnknownKeyId { id: "k9".into() }
    );
}

#[test]
fn key_ids_must_fit_the_stored_form() {
    let long = "k".repeat(65);
    for bad in ["", "a$b", "a b", "é", long.as_str(), "tab\t"] {
        assert_eq!(
            RecordPasswordKey::derive(bad, &data_key(1)).unwrap_err(),
            PasswordError::InvalidKeyId,
            "{bad:?}"
        );
    }
    for good in ["k1", "2026-01_main", &"k".repeat(64)] {
        assert!(
            RecordPasswordKey::derive(good, &data_key(1)).is_ok(),
            "{good:?}"
        );
    }
}

#[test]
fn malformed_stored_forms_name_the_field() {
    let keys = one("k1", 1);
    let good = keys.hash("pw");
    let f: Vec<&str> = good.split('$').collect();
    let cases: Vec<(String, PasswordError)> = vec![
        (String::new(), PasswordError::FieldCount { found: 1 }),
        ("pw".into(), PasswordError::FieldCount { found: 1 }),
        (
            format!("{}${}${}", f[0], f[1], f[2]),
            PasswordError::FieldCount { found: 3 },
        ),
        (format!("{good}$"), PasswordError::FieldCount { found: 5 }),
        (
            format!("sha1${}${}${}", f[1], f[2], f[3]),
            PasswordError::UnknownScheme,
        ),
        (
            format!("HMAC-SHA256${}${}${}", f[1], f[2], f[3]),
            PasswordError::UnknownScheme,
        ),
        (
            format!("{}$${}${}", f[0], f[2], f[3]),
            PasswordError::InvalidKeyId,
        ),
        (
            format!("{}$k2${}${}", f[0], f[2], f[3]),
            PasswordError::UnknownKeyId { id: "k2".into() },
        ),
        (
            format!("{}${}$AAAA${}", f[0], f[1], f[3]),
            PasswordError::InvalidSalt,
        ),
        (
            format!("{}${}$not base64${}", f[0], f[1], f[3]),
            PasswordError::InvalidSalt,
        ),
        (
            format!("{}${}${}$AAAA", f[0], f[1], f[2]),
            PasswordError::InvalidHash,
        ),
        (
            format!("{}${}${}${}A", f[0], f[1], f[2], f[3]),
            PasswordError::InvalidHash,
        ),
    ];
    for (stored, expected) in cases {
        assert_eq!(keys.verify(&stored, "pw"), Err(expected), "{stored:?}");
    }
}

#[test]
fn debug_prints_no_key_and_no_hash() {
    let keys = one("k1", 1);
    let shown = format!("{keys:?} {:?}", keys.active());
    assert_eq!(
        shown,
        r#"RecordPasswordKeys { keys: [RecordPasswordKey { id: "k1", key: "***" }] } RecordPasswordKey { id: "k1", key: "***" }"#
    );
    let old = PasswordHasher::new(1_000).unwrap().hash("pw");
    let check = keys.verify(&old, "pw").unwrap();
    let PasswordCheck::Upgrade { rehashed } = &check else {
        panic!("expected an upgrade")
    };
    let shown = format!("{check:?}");
    assert!(!shown.contains(rehashed.as_str()), "{shown}");
    assert!(!format!("{:?}", PasswordError::UnknownKeyId { id: "k1".into() }).contains("pw"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_password_round_trips_and_any_other_is_wrong(
        password in any::<String>(),
        other in any::<String>(),
        seed in any::<u8>(),
    ) {
        let keys = one("k", seed);
        let stored = keys.hash(&password);
        prop_assert_eq!(keys.verify(&stored, &password), Ok(PasswordCheck::Right));
        if other != password {
            prop_assert_eq!(keys.verify(&stored, &other), Ok(PasswordCheck::Wrong));
        }
    }

    #[test]
    fn any_altered_hash_or_salt_is_wrong_or_malformed(
        password in "[ -~]{0,24}",
        field in 2usize..4,
        at in any::<prop::sample::Index>(),
        replacement in prop::sample::select(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".to_vec()),
    ) {
        let keys = one("k", 7);
        let stored = keys.hash(&password);
        let mut fields: Vec<String> = stored.split('$').map(str::to_owned).collect();
        // Change one base64 character of the salt or the hash (not the padding).
        let body_len = fields[field].trim_end_matches('=').len();
        let i = at.index(body_len);
        let mut bytes = fields[field].clone().into_bytes();
        prop_assume!(bytes[i] != replacement);
        bytes[i] = replacement;
        fields[field] = String::from_utf8(bytes).unwrap();
        let altered = fields.join("$");
        match keys.verify(&altered, &password) {
            Ok(check) => prop_assert_eq!(check, PasswordCheck::Wrong),
            // The last character of a field also carries padding bits: it may stop being
            // canonical base64 of 16 or 32 bytes.
            Err(e) => prop_assert!(
                matches!(e, PasswordError::InvalidSalt | PasswordError::InvalidHash),
                "{e:?}"
            ),
        }
    }

    #[test]
    fn arbitrary_stored_forms_never_panic(stored in "\\PC{0,80}", password in "\\PC{0,16}") {
        let keys = one("k", 3);
        let _ = keys.verify(&stored, &password);
        let dollar = format!("hmac-sha256${stored}");
        let _ = keys.verify(&dollar, &password);
    }
}
