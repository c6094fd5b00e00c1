//! Checks on caller input that the wire types cannot express, each naming its field.

use crate::errors::FieldError;
use crate::webhooks::egress::{EgressPolicy, EgressRefusal};
use payments_core::records::Source;

/// Longest accepted identifier or title.
const MAX_LEN: usize = 255;

/// A non-empty string of at most 255 characters, without control characters.
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
    no_controls(field, value)
}

/// Refuses control characters: the C0 and C1 controls (NUL, BEL, ESC, newlines, …) and
/// the invisible direction marks and overrides (U+200E/F, U+061C, U+202A–E, U+2066–9),
/// which make an identifier print as another (`RLO` turns `gpj.exe` into `exe.jpg`) and
/// break the logs and terminals it is shown in.
///
/// # Errors
/// A [`FieldError`] naming the field, the character and where it is.
pub fn no_controls(field: &str, value: &str) -> Result<(), FieldError> {
    match value.chars().enumerate().find(|(_, c)| is_control(*c)) {
        Some((at, c)) => Err(FieldError::new(
            field,
            format!(
                "must not contain control characters (U+{:04X} at character {})",
                c as u32,
                at + 1
            ),
        )),
        None => Ok(()),
    }
}

/// Whether `c` is a control character [`no_controls`] refuses.
pub fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
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

/// Longest URL accepted as a delivery target.
const MAX_URL_LEN: usize = 2048;

/// An absolute URL the server may deliver to under `policy`: https (http only with
/// `allow_insecure`), and not an IP literal in a refused range unless its host is listed.
/// A host name is checked again, address by address, each time it is connected to.
///
/// # Errors
/// A [`FieldError`] naming the field and why the URL is refused.
pub fn webhook_url(field: &str, url: &str, policy: &EgressPolicy) -> Result<(), FieldError> {
    if url.len() > MAX_URL_LEN {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_URL_LEN} bytes"),
        ));
    }
    let parsed = url::Url::parse(url)
        .map_err(|_| FieldError::new(field, format!("{} is not an absolute URL", echo(url))))?;
    policy.check_url(&parsed).map_err(|refusal| {
        let hint = match refusal {
            EgressRefusal::Scheme(_) => "",
            EgressRefusal::NoHost | EgressRefusal::NonPublic(_) => {
                " (a receiver on a private network must be listed in the server's [webhooks] allow_hosts)"
            }
        };
        FieldError::new(field, format!("{refusal}{hint}"))
    })
}

/// `value` cut after `chars` characters (`…` marks the cut).
pub fn cut(value: &str, chars: usize) -> String {
    let mut iter = value.chars();
    let head: String = iter.by_ref().take(chars).collect();
    if iter.next().is_some() {
        head + "…"
    } else {
        head
    }
}

/// How much of a caller's value an error message repeats.
const ECHO_CHARS: usize = 64;

/// A caller's value as an error message repeats it: quoted and escaped (so control
/// characters show as escapes, never act on a terminal or log), and cut after 64
/// characters, so a megabyte of input does not come back as a megabyte of error.
pub fn echo(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(ECHO_CHARS).collect();
    if chars.next().is_some() {
        format!("{head:?}… ({} bytes)", value.len())
    } else {
        format!("{head:?}")
    }
}
