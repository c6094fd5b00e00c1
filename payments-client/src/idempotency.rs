//! [`IdempotencyKey`]: the `Idempotency-Key` a write carries so that it can be retried.
//!
//! A create or cancel without a key is never retried by the SDK: a second attempt could
//! record or cancel twice. With a key, every attempt carries the same key and the server
//! answers a repeat with the first attempt's result.

/// The most characters a key may have.
pub const MAX_LEN: usize = 255;

/// A validated idempotency key: 1 to [`MAX_LEN`] visible ASCII characters. Keep it with
/// the operation it protects (e.g. in your order row) and reuse it when you retry later.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// A string that cannot be an [`IdempotencyKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid idempotency key: {0}")]
pub struct InvalidIdempotencyKey(&'static str);

impl IdempotencyKey {
    /// Wraps a caller-chosen key.
    ///
    /// # Errors
    /// [`InvalidIdempotencyKey`] when `key` is empty, longer than [`MAX_LEN`], or holds
    /// anything but visible ASCII (`!` to `~`), which an HTTP header cannot carry as is.
    ///
    /// ```
    /// use payments_client::IdempotencyKey;
    /// let key = IdempotencyKey::new("order-2026-0001/pay")?;
    /// assert_eq!(key.as_str(), "order-2026-0001/pay");
    /// assert!(IdempotencyKey::new("has space").is_err());
    /// # Ok::<(), payments_client::InvalidIdempotencyKey>(())
    /// ```
    pub fn new(key: impl Into<String>) -> Result<Self, InvalidIdempotencyKey> {
        let key = key.into();
        if key.is_empty() {
            return Err(InvalidIdempotencyKey("it is empty"));
        }
        if key.len() > MAX_LEN {
            return Err(InvalidIdempotencyKey("it is longer than 255 characters"));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidIdempotencyKey(
                "it may hold only visible ASCII characters (no spaces or control characters)",
            ));
        }
        Ok(Self(key))
    }

    /// A fresh random key (a UUID v4).
    ///
    /// ```
    /// use payments_client::IdempotencyKey;
    /// assert_ne!(IdempotencyKey::random(), IdempotencyKey::random());
    /// ```
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// The key as sent in the `Idempotency-Key` header.
    ///
    /// ```
    /// use payments_client::IdempotencyKey;
    /// let id = uuid::Uuid::nil();
    /// assert_eq!(IdempotencyKey::from(id).as_str(), "00000000-0000-0000-0000-000000000000");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<uuid::Uuid> for IdempotencyKey {
    fn from(id: uuid::Uuid) -> Self {
        Self(id.to_string())
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for IdempotencyKey {
    type Err = InvalidIdempotencyKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_length_and_characters() {
        assert!(IdempotencyKey::new("").is_err());
        assert!(IdempotencyKey::new("a".repeat(MAX_LEN)).is_ok());
        assert!(IdempotencyKey::new("a".repeat(MAX_LEN + 1)).is_err());
        assert!(IdempotencyKey::new("tab\there").is_err());
        assert!(IdempotencyKey::new("결제").is_err());
        assert!(IdempotencyKey::new("order:1/pay~x").is_ok());
    }
}
