//! The two body envelopes of the wire protocol (`payments-wire.md` §1).
//!
//! - [`CompatKey`] (`compat`, §1.1): AES-128/256-CBC + PKCS#7 with a fixed IV, base64. No
//!   MAC: kept only to interoperate with the nestia `EncryptedRoute` clients.
//! - [`SealedV2Key`] (`sealed-v2`, §1.2): AES-256-CBC with a fresh IV, encrypt-then-MAC
//!   with HMAC-SHA256 over the ciphertext and the request it belongs to ([`Binding`]).
//!
//! [`SealedV2Key::derive`] keeps the last few secrets' derived keys in a process-wide
//! cache (`derive_cache`), so PBKDF2 runs once per secret and process.
//!
//! Both run on the RustCrypto `aes` crate, which picks AES-NI at run time on x86/x86_64
//! CPUs that have it (through `cpufeatures`) and falls back to a constant-time software
//! implementation otherwise.

mod cbc_pkcs7;
mod compat;
mod derive_cache;
mod error;
mod sealed;

pub use compat::CompatKey;
pub use error::EnvelopeError;
pub use sealed::SealedV2Key;

/// `Content-Type` of a `compat` body.
pub const COMPAT_CONTENT_TYPE: &str = "text/plain";
/// `Content-Type` of a `sealed-v2` body.
pub const SEALED_V2_CONTENT_TYPE: &str = "application/vnd.payments.sealed-v2";
/// Header that carries a sealed-v2 message's own timestamp, in decimal Unix milliseconds.
pub const TIMESTAMP_HEADER: &str = "x-payments-timestamp";
/// The largest distance, in milliseconds, between a message's timestamp and the
/// receiver's clock that [`check_freshness`] accepts (300 s).
pub const MAX_SKEW_MS: i64 = 300_000;

/// Which envelope a body is in (or a server or client is configured with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EnvelopeKind {
    /// `compat`: AES-CBC with a fixed IV, no MAC (§1.1).
    #[serde(rename = "compat")]
    Compat,
    /// `sealed-v2`: AES-256-CBC with a random IV and an HMAC-SHA256 tag (§1.2).
    #[serde(rename = "sealed-v2")]
    SealedV2,
}

impl EnvelopeKind {
    /// The `Content-Type` a body in this envelope is sent with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Compat => COMPAT_CONTENT_TYPE,
            Self::SealedV2 => SEALED_V2_CONTENT_TYPE,
        }
    }

    /// The envelope's name as written in configuration and serde: `compat` or `sealed-v2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compat => "compat",
            Self::SealedV2 => "sealed-v2",
        }
    }

    /// The envelope a `Content-Type` header value names, or `None` for any other type.
    ///
    /// Parameters (`; charset=utf-8`) and surrounding whitespace are ignored and the
    /// media type is compared case-insensitively, as HTTP requires.
    pub fn from_content_type(value: &str) -> Option<Self> {
        let media_type = value.split(';').next().unwrap_or_default().trim();
        [Self::Compat, Self::SealedV2]
            .into_iter()
            .find(|kind| media_type.eq_ignore_ascii_case(kind.content_type()))
    }
}

impl std::fmt::Display for EnvelopeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a sealed-v2 tag is bound to: the request a message belongs to and the message's
/// own timestamp. A response is bound to the method and path of the request it answers;
/// an outgoing webhook to `POST` and its URL's path.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    /// The upper-case HTTP method (`POST`). Used byte for byte: callers upper-case it.
    pub method: &'a str,
    /// The request path without its query string (`/payments/histories`).
    pub path: &'a str,
    /// The value of the message's [`TIMESTAMP_HEADER`], in Unix milliseconds.
    pub timestamp_ms: i64,
    /// The request's `Idempotency-Key`, when it carries one: bound into the tag so a
    /// captured request cannot be replayed under another key. `None` for responses and
    /// webhooks.
    pub idempotency_key: Option<&'a str>,
}

impl Binding<'_> {
    /// The associated data the tag covers after the ciphertext:
    /// `METHOD ‖ 0x00 ‖ PATH ‖ 0x00 ‖ TIMESTAMP` (timestamp in decimal ASCII), followed by
    /// `0x00 ‖ IDEMPOTENCY_KEY` when the request carries one.
    ///
    /// [`SealedV2Key::seal`] feeds these bytes to the MAC without building this vector;
    /// it is here for callers that store a binding, and for tests.
    pub fn associated_data(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(self.method.len() + self.path.len() + 22);
        self.feed(|part| aad.extend_from_slice(part));
        aad
    }

    /// Passes the associated data to `sink` in pieces, without allocating.
    fn feed(&self, mut sink: impl FnMut(&[u8])) {
        let digits = itoa_i64(self.timestamp_ms);
        sink(self.method.as_bytes());
        sink(&[0]);
        sink(self.path.as_bytes());
        sink(&[0]);
        sink(digits.as_slice());
        if let Some(key) = self.idempotency_key {
            sink(&[0]);
            sink(key.as_bytes());
        }
    }
}

/// Decimal ASCII of an `i64` on the stack (`-9223372036854775808` is 20 bytes).
struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    fn as_slice(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

fn itoa_i64(value: i64) -> Digits {
    let mut buf = [0u8; 20];
    let mut start = buf.len();
    let mut rest = value.unsigned_abs();
    loop {
        start -= 1;
        // `rest % 10` is below 10, so the cast cannot truncate.
        buf[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        start -= 1;
        buf[start] = b'-';
    }
    Digits { buf, start }
}

/// Accepts a message timestamp at most [`MAX_SKEW_MS`] away from `now_ms` (either way).
///
/// # Errors
/// [`EnvelopeError::StaleTimestamp`] when `|timestamp_ms - now_ms| > MAX_SKEW_MS`
/// (computed without overflow, whatever the values).
pub fn check_freshness(timestamp_ms: i64, now_ms: i64) -> Result<(), EnvelopeError> {
    if timestamp_ms.abs_diff(now_ms) > MAX_SKEW_MS.unsigned_abs() {
        return Err(EnvelopeError::StaleTimestamp {
            timestamp_ms,
            now_ms,
        });
    }
    Ok(())
}

/// Parses an [`TIMESTAMP_HEADER`] value: decimal Unix milliseconds, ASCII digits with an
/// optional leading `-`, surrounding whitespace ignored.
///
/// # Errors
/// [`EnvelopeError::InvalidTimestamp`] for an empty value, any other character, or a
/// number outside `i64`.
pub fn parse_timestamp(value: &str) -> Result<i64, EnvelopeError> {
    let value = value.trim_ascii();
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EnvelopeError::InvalidTimestamp);
    }
    value
        .parse::<i64>()
        .map_err(|_| EnvelopeError::InvalidTimestamp)
}

/// Either envelope, as configured: what a server accepts or a client speaks.
#[derive(Clone, Debug)]
pub enum Envelope {
    /// The `compat` envelope with its key and fixed IV.
    Compat(CompatKey),
    /// The `sealed-v2` envelope with its derived keys.
    SealedV2(SealedV2Key),
}

impl Envelope {
    /// Which envelope this is.
    pub fn kind(&self) -> EnvelopeKind {
        match self {
            Self::Compat(_) => EnvelopeKind::Compat,
            Self::SealedV2(_) => EnvelopeKind::SealedV2,
        }
    }

    /// Seals `plaintext` into a body of this envelope. `compat` ignores `binding` (it has
    /// no MAC); `sealed-v2` binds the tag to it and draws a fresh IV.
    pub fn seal(&self, plaintext: &[u8], binding: &Binding<'_>) -> String {
        match self {
            Self::Compat(key) => key.encrypt(plaintext),
            Self::SealedV2(key) => key.seal(plaintext, binding),
        }
    }

    /// Opens a body of this envelope. `compat` ignores `binding`; `sealed-v2` checks the
    /// tag against it. Neither checks the timestamp's freshness: call [`check_freshness`].
    ///
    /// # Errors
    /// As [`CompatKey::decrypt`] or [`SealedV2Key::open`].
    pub fn open(&self, body: &str, binding: &Binding<'_>) -> Result<Vec<u8>, EnvelopeError> {
        match self {
            Self::Compat(key) => key.decrypt(body),
            Self::SealedV2(key) => key.open(body, binding),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itoa_matches_display_at_the_edges() {
        for value in [0, 1, -1, 9, 10, 1_763_694_245_678, i64::MAX, i64::MIN] {
            assert_eq!(itoa_i64(value).as_slice(), value.to_string().as_bytes());
        }
    }

    #[test]
    fn associated_data_layout() {
        let binding = Binding {
            method: "POST",
            path: "/a",
            timestamp_ms: 12,
            idempotency_key: None,
        };
        assert_eq!(binding.associated_data(), b"POST\x00/a\x0012");
    }
}
