//! [`EnvelopeError`]: why a body could not be opened or a key could not be built.

/// Why an envelope operation failed. Messages name what was wrong and never contain key
/// material, plaintext or the body itself.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum EnvelopeError {
    /// A configured `compat` key is not 16 (AES-128) or 32 (AES-256) bytes of UTF-8.
    #[error("envelope key must be {expected} of UTF-8, got {actual} bytes")]
    InvalidKeyLength {
        /// The accepted lengths, in words.
        expected: &'static str,
        /// The length that was given.
        actual: usize,
    },
    /// A configured `compat` IV is not 16 bytes of UTF-8.
    #[error("envelope IV must be 16 bytes of UTF-8, got {actual} bytes")]
    InvalidIvLength {
        /// The length that was given.
        actual: usize,
    },
    /// The body is not standard base64 (alphabet `A-Z a-z 0-9 + /`, with `=` padding).
    #[error("encrypted body is not valid standard base64")]
    NotBase64,
    /// The decoded body is too short to hold its parts, or its ciphertext is not a whole
    /// number of 16-byte blocks.
    #[error(
        "encrypted body is truncated: too short for its version, IV, ciphertext and tag, or not a whole number of 16-byte blocks"
    )]
    Truncated,
    /// The first byte of a sealed body is not a known version (only `0x02` is).
    #[error("sealed body has unknown version byte 0x{0:02x} (expected 0x02)")]
    UnknownVersion(u8),
    /// The sealed body's tag does not match: it was altered, sealed under another key, or
    /// bound to another method, path or timestamp.
    #[error(
        "sealed body failed authentication: altered, wrong key, or bound to another method, path or timestamp"
    )]
    BadTag,
    /// The ciphertext decrypted to invalid PKCS#7 padding (wrong key or altered body).
    #[error("encrypted body did not decrypt: invalid padding (wrong key or altered body)")]
    Decrypt,
    /// The message's timestamp is more than [`MAX_SKEW_MS`](super::MAX_SKEW_MS) away from
    /// the receiver's clock.
    #[error("message timestamp {timestamp_ms} ms is more than 300 s away from now ({now_ms} ms)")]
    StaleTimestamp {
        /// The message's timestamp, in Unix milliseconds.
        timestamp_ms: i64,
        /// The receiver's clock, in Unix milliseconds.
        now_ms: i64,
    },
    /// The timestamp header is not a decimal Unix-milliseconds integer.
    #[error("x-payments-timestamp must be a decimal integer of Unix milliseconds")]
    InvalidTimestamp,
}
