//! The field checks the real API makes on request bodies (the bodies themselves live with
//! their resource). Every check names the field and what was wrong.

use crate::error::TossError;

/// A whole, positive KRW amount.
pub(crate) fn amount(field: &str, v: f64) -> Result<i64, TossError> {
    whole(field, v).and_then(|n| {
        if n > 0 {
            Ok(n)
        } else {
            Err(TossError::invalid(format!(
                "{field}: must be greater than 0, got {v}"
            )))
        }
    })
}

/// A whole, non-negative KRW amount.
pub(crate) fn whole(field: &str, v: f64) -> Result<i64, TossError> {
    if !v.is_finite() || v.fract() != 0.0 || !(0.0..=1e15).contains(&v) {
        return Err(TossError::invalid(format!(
            "{field}: must be a whole non-negative number of KRW, got {v}"
        )));
    }
    // In range and integral, so the cast is exact.
    #[allow(clippy::cast_possible_truncation)]
    Ok(v as i64)
}

/// An order id as the real API wants it: 6–64 of `A-Z a-z 0-9 - _ =`.
pub(crate) fn order_id(v: &str) -> Result<(), TossError> {
    let ok_chars = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '='));
    if !(6..=64).contains(&v.len()) || !ok_chars {
        return Err(TossError::invalid(format!(
            "orderId: must be 6-64 characters of A-Z, a-z, 0-9, '-', '_', '=', got {v:?}"
        )));
    }
    Ok(())
}

/// A customer key as the real API wants it: 2–300 of `A-Z a-z 0-9 - _ = . @`.
pub(crate) fn customer_key(v: &str) -> Result<(), TossError> {
    let ok_chars = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '=' | '.' | '@'));
    if !(2..=300).contains(&v.len()) || !ok_chars {
        return Err(TossError::invalid(format!(
            "customerKey: must be 2-300 characters of A-Z, a-z, 0-9, '-', '_', '=', '.', '@', got {v:?}"
        )));
    }
    Ok(())
}

/// A 16-digit card number.
pub(crate) fn card_number(v: &str) -> Result<(), TossError> {
    if v.len() != 16 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TossError::new(
            400,
            "INVALID_CARD_NUMBER",
            format!("cardNumber: must be 16 digits, got {} characters", v.len()),
        ));
    }
    Ok(())
}

/// A card expiry (`YY`, `MM`); returns (year, month).
pub(crate) fn card_expiry(year: &str, month: &str) -> Result<(i32, u32), TossError> {
    let bad = |field: &str, want: &str| {
        TossError::new(
            400,
            "INVALID_CARD_EXPIRATION",
            format!("{field}: must be {want}"),
        )
    };
    if year.len() != 2 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("cardExpirationYear", "two digits (YY)"));
    }
    let m: u32 = month
        .parse()
        .ok()
        .filter(|m| (1..=12).contains(m) && month.len() == 2)
        .ok_or_else(|| bad("cardExpirationMonth", "01-12"))?;
    let y: i32 = year
        .parse()
        .map_err(|_| bad("cardExpirationYear", "two digits (YY)"))?;
    Ok((2000 + y, m))
}

/// An installment plan: 0 (lump sum) or 2–12 months.
pub(crate) fn installment(v: Option<f64>) -> Result<u32, TossError> {
    let n = whole("cardInstallmentPlan", v.unwrap_or(0.0))?;
    if n == 1 || n > 12 {
        return Err(TossError::invalid(format!(
            "cardInstallmentPlan: must be 0 or 2-12, got {n}"
        )));
    }
    // 0..=12 fits.
    Ok(u32::try_from(n).unwrap_or(0))
}

/// A non-empty string field of at most `max` characters.
pub(crate) fn text(field: &str, v: &str, max: usize) -> Result<(), TossError> {
    if v.trim().is_empty() {
        return Err(TossError::invalid(format!("{field}: must not be empty")));
    }
    if v.chars().count() > max {
        return Err(TossError::invalid(format!(
            "{field}: must be at most {max} characters"
        )));
    }
    Ok(())
}
