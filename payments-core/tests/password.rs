//! Password hashing: round trips, wrong passwords, malformed stored forms, salts,
//! iterations read from the stored form, and no secrets in `Debug`.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use payments_core::password::{
    MAX_ITERATIONS, MIN_ITERATIONS, OWASP_PBKDF2_SHA256_ITERATIONS, PasswordError, PasswordHasher,
    verify_password,
};

fn fast() -> PasswordHasher {
    PasswordHasher::new(1_000).unwrap()
}

fn fields(stored: &str) -> Vec<&str> {
    stored.split('$').collect()
}

#[test]
fn round_trip_and_wrong_password() {
    let stored = fast().hash("correct horse 배터리 staple");
    assert_eq!(
        verify_password(&stored, "correct horse 배터리 staple"),
        Ok(true)
    );
    assert_eq!(
        verify_password(&stored, "correct horse 배터리 staplE"),
        Ok(false)
    );
    assert_eq!(verify_password(&stored, ""), Ok(false));
    let empty = fast().hash("");
    assert_eq!(verify_password(&empty, ""), Ok(true));
    assert_eq!(verify_password(&empty, " "), Ok(false));
}

#[test]
fn owasp_default_round_trip() {
    let hasher = PasswordHasher::default();
    assert_eq!(hasher.iterations(), OWASP_PBKDF2_SHA256_ITERATIONS);
    assert_eq!(OWASP_PBKDF2_SHA256_ITERATIONS, 600_000);
    let stored = hasher.hash("pw-1234");
    assert!(stored.starts_with("pbkdf2-sha256$600000$"), "{stored}");
    assert_eq!(verify_password(&stored, "pw-1234"), Ok(true));
}

#[test]
fn stored_form_layout() {
    let stored = fast().hash("pw");
    let f = fields(&stored);
    assert_eq!(f.len(), 4);
    assert_eq!(f[0], "pbkdf2-sha256");
    assert_eq!(f[1], "1000");
    assert_eq!(STANDARD.decode(f[2]).unwrap().len(), 16);
    assert_eq!(STANDARD.decode(f[3]).unwrap().len(), 32);
    assert!(!stored.contains("pw$") && !stored.ends_with("$pw"));
}

#[test]
fn known_answer_from_an_independent_implementation() {
    // Node: crypto.pbkdf2Sync('password', Buffer.from('0123456789abcdef'), 1000, 32, 'sha256')
    let salt = STANDARD.encode(b"0123456789abcdef");
    let hash = "hRRjgXWkW8ResfIvBP99J/T4vkgEmMRV/0tJTOjR59I=";
    let stored = format!("pbkdf2-sha256$1000${salt}${hash}");
    assert_eq!(verify_password(&stored, "password"), Ok(true));
    assert_eq!(verify_password(&stored, "Password"), Ok(false));
}

#[test]
fn each_hash_gets_its_own_salt() {
    let hasher = fast();
    let a = hasher.hash("same");
    let b = hasher.hash("same");
    assert_ne!(fields(&a)[2], fields(&b)[2]);
    assert_ne!(fields(&a)[3], fields(&b)[3]);
    assert_eq!(verify_password(&a, "same"), Ok(true));
    assert_eq!(verify_password(&b, "same"), Ok(true));
}

#[test]
fn iterations_are_read_from_the_stored_form() {
    let stored = PasswordHasher::new(1_234).unwrap().hash("pw");
    assert_eq!(fields(&stored)[1], "1234");
    assert_eq!(verify_password(&stored, "pw"), Ok(true));
    // The same salt and hash under another count is a different (wrong) hash.
    let f = fields(&stored);
    let altered = format!("{}$1235${}${}", f[0], f[2], f[3]);
    assert_eq!(verify_password(&altered, "pw"), Ok(false));
}

#[test]
fn iteration_limits_are_enforced() {
    for iterations in [0, 1, MIN_ITERATIONS - 1, MAX_ITERATIONS + 1, u32::MAX] {
        assert_eq!(
            PasswordHasher::new(iterations),
            Err(PasswordError::IterationsOutOfRange {
                iterations,
                min: MIN_ITERATIONS,
                max: MAX_ITERATIONS
            })
        );
    }
    assert_eq!(
        PasswordHasher::new(MIN_ITERATIONS).unwrap().iterations(),
        MIN_ITERATIONS
    );
    assert_eq!(
        PasswordHasher::new(MAX_ITERATIONS).unwrap().iterations(),
        MAX_ITERATIONS
    );
    let message = PasswordHasher::new(0).unwrap_err().to_string();
    assert!(message.contains("1000"), "{message}");
}

#[test]
fn malformed_stored_forms_are_errors() {
    let good = fast().hash("pw");
    let f = fields(&good);
    let (salt, hash) = (f[2], f[3]);
    let cases: Vec<(String, PasswordError)> = vec![
        (String::new(), PasswordError::FieldCount { found: 1 }),
        ("pw".into(), PasswordError::FieldCount { found: 1 }),
        (
            format!("pbkdf2-sha256$1000${salt}"),
            PasswordError::FieldCount { found: 3 },
        ),
        (format!("{good}$"), PasswordError::FieldCount { found: 5 }),
        (format!("${good}"), PasswordError::FieldCount { found: 5 }),
        (
            format!("pbkdf2-sha512$1000${salt}${hash}"),
            PasswordError::UnknownScheme,
        ),
        (
            format!("PBKDF2-SHA256$1000${salt}${hash}"),
            PasswordError::UnknownScheme,
        ),
        (
            format!("pbkdf2-sha256$${salt}${hash}"),
            PasswordError::InvalidIterations,
        ),
        (
            format!("pbkdf2-sha256$+1000${salt}${hash}"),
            PasswordError::InvalidIterations,
        ),
        (
            format!("pbkdf2-sha256$ 1000${salt}${hash}"),
            PasswordError::InvalidIterations,
        ),
        (
            format!("pbkdf2-sha256$1e3${salt}${hash}"),
            PasswordError::InvalidIterations,
        ),
        (
            format!("pbkdf2-sha256$99999999999${salt}${hash}"),
            PasswordError::InvalidIterations,
        ),
        (
            format!("pbkdf2-sha256$0${salt}${hash}"),
            PasswordError::IterationsOutOfRange {
                iterations: 0,
                min: MIN_ITERATIONS,
                max: MAX_ITERATIONS,
            },
        ),
        (
            format!("pbkdf2-sha256$4294967295${salt}${hash}"),
            PasswordError::IterationsOutOfRange {
                iterations: u32::MAX,
                min: MIN_ITERATIONS,
                max: MAX_ITERATIONS,
            },
        ),
        (
            format!("pbkdf2-sha256$1000$${hash}"),
            PasswordError::InvalidSalt,
        ),
        (
            format!("pbkdf2-sha256$1000$!!!!${hash}"),
            PasswordError::InvalidSalt,
        ),
        (
            format!("pbkdf2-sha256$1000${}${hash}", STANDARD.encode([0u8; 15])),
            PasswordError::InvalidSalt,
        ),
        (
            format!("pbkdf2-sha256$1000${}${hash}", STANDARD.encode([0u8; 17])),
            PasswordError::InvalidSalt,
        ),
        (
            format!("pbkdf2-sha256$1000${}${hash}", salt.trim_end_matches('=')),
            PasswordError::InvalidSalt,
        ),
        (
            format!("pbkdf2-sha256$1000${salt}$"),
            PasswordError::InvalidHash,
        ),
        (
            format!("pbkdf2-sha256$1000${salt}${}", STANDARD.encode([0u8; 31])),
            PasswordError::InvalidHash,
        ),
        (
            format!("pbkdf2-sha256$1000${salt}${}", STANDARD.encode([0u8; 64])),
            PasswordError::InvalidHash,
        ),
        (
            format!("pbkdf2-sha256$1000${salt}${}", hash.replace('=', "")),
            PasswordError::InvalidHash,
        ),
        (
            format!("pbkdf2-sha256$1000${salt}${hash}\n"),
            PasswordError::InvalidHash,
        ),
    ];
    for (stored, expected) in cases {
        assert_eq!(verify_password(&stored, "pw"), Err(expected), "{stored:?}");
    }
}

#[test]
fn errors_and_debug_show_no_secrets() {
    let hasher = fast();
    assert_eq!(format!("{hasher:?}"), "PasswordHasher { iterations: 1000 }");
    let stored = hasher.hash("hunter2");
    let salt = fields(&stored)[2].to_owned();
    let broken = stored.replace(&salt, "AAAA");
    let message = verify_password(&broken, "hunter2").unwrap_err().to_string();
    assert!(
        !message.contains("hunter2") && !message.contains(fields(&stored)[3]),
        "{message}"
    );
}
