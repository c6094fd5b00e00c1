//! Checks on caller input that the wire types cannot express, each naming its field.

use crate::errors::FieldError;
use payments_core::records::Source;

/// Longest accepted identifier or title.
const MAX_LEN: usize = 255;

/// A non-empty string of at most 255 characters.
///
/// # Errors
/// A [`FieldError`] naming the field.
pub fn text(field: &str, value: &str) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if value.chars().count() > MAX_LEN {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_LEN} characters"),
        ));
    }
    Ok(())
}

/// Every part of a source.
///
/// # Errors
/// A [`FieldError`] naming the part.
pub fn source(field: &str, source: &Source) -> Result<(), FieldError> {
    text(&format!("{field}.schema"), &source.schema)?;
    text(&format!("{field}.table"), &source.table)?;
    text(&format!("{field}.id"), &source.id)
}

/// A positive amount.
///
/// # Errors
/// A [`FieldError`] naming the field.
pub fn positive(field: &str, amount: i64) -> Result<(), FieldError> {
    if amount <= 0 {
        return Err(FieldError::new(
            field,
            format!("must be above zero, got {amount}"),
        ));
    }
    Ok(())
}

/// A password: non-empty, at most 1024 bytes (hashing cost grows with length).
///
/// # Errors
/// A [`FieldError`] naming the field.
pub fn password(field: &str, password: &str) -> Result<(), FieldError> {
    if password.is_empty() || password.len() > 1024 {
        return Err(FieldError::new(field, "must be 1 to 1024 bytes"));
    }
    Ok(())
}

/// An absolute http(s) URL.
///
/// # Errors
/// A [`FieldError`] naming the field.
pub fn webhook_url(field: &str, url: &str) -> Result<(), FieldError> {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {
            Ok(())
        }
        _ => Err(FieldError::new(
            field,
            format!("{url:?} is not an absolute http(s) URL"),
        )),
    }
}
