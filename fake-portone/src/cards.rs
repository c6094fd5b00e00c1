//! Card credentials: checking a number and expiry, the `Card` JSON (masked number, brand,
//! BIN), and the numbers the fake declines with the PG's code and message.
//!
//! Every instance starts with [`DECLINED_CARDS`]; a test adds its own with
//! [`crate::FakePortOne::decline_card`]. A declined number fails instant card payments,
//! billing-key issue, payments with a billing key issued for it and scheduled payments:
//! the payment becomes `FAILED` and the call answers `502 PG_PROVIDER`.

use chrono::{DateTime, Datelike, Utc};
use serde_json::{Value, json};

use crate::error::PortOneError;

/// One row of the declined-card table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclinedCard {
    /// The card number that triggers the decline.
    pub number: &'static str,
    /// The PG's code (`pgCode` of the error and of the payment's `failure`).
    pub pg_code: &'static str,
    /// The PG's message (`pgMessage`).
    pub pg_message: &'static str,
}

/// The built-in declined cards (the fake's channel is Toss Payments, so the codes are
/// Toss's). Every other well-formed number is approved.
///
/// | card number        | `pgCode` |
/// |--------------------|----------|
/// | `4000000000000002` | `REJECT_CARD_PAYMENT` (limit exceeded / insufficient balance) |
/// | `4000000000000010` | `REJECT_CARD_COMPANY` |
/// | `4000000000000028` | `INVALID_CARD_EXPIRATION` |
/// | `4000000000000036` | `INVALID_STOPPED_CARD` |
/// | `4000000000000044` | `INVALID_CARD_LOST_OR_STOLEN` |
/// | `4000000000000051` | `EXCEED_MAX_DAILY_PAYMENT_COUNT` |
pub const DECLINED_CARDS: &[DeclinedCard] = &[
    DeclinedCard {
        number: "4000000000000002",
        pg_code: "REJECT_CARD_PAYMENT",
        pg_message: "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
    },
    DeclinedCard {
        number: "4000000000000010",
        pg_code: "REJECT_CARD_COMPANY",
        pg_message: "결제 승인이 거절되었습니다.",
    },
    DeclinedCard {
        number: "4000000000000028",
        pg_code: "INVALID_CARD_EXPIRATION",
        pg_message: "카드 정보를 다시 확인해주세요. (유효기간)",
    },
    DeclinedCard {
        number: "4000000000000036",
        pg_code: "INVALID_STOPPED_CARD",
        pg_message: "정지된 카드 입니다.",
    },
    DeclinedCard {
        number: "4000000000000044",
        pg_code: "INVALID_CARD_LOST_OR_STOLEN",
        pg_message: "분실 혹은 도난 카드입니다.",
    },
    DeclinedCard {
        number: "4000000000000051",
        pg_code: "EXCEED_MAX_DAILY_PAYMENT_COUNT",
        pg_message: "하루 결제 가능 횟수를 초과했습니다.",
    },
];

/// A PG refusal: what a declined card, an expired card or a scripted failure produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decline {
    pub pg_code: String,
    pub pg_message: String,
}

impl Decline {
    pub fn new(pg_code: &str, pg_message: &str) -> Self {
        Self {
            pg_code: pg_code.to_owned(),
            pg_message: pg_message.to_owned(),
        }
    }

    /// The `502 PG_PROVIDER` error the API answers with.
    pub fn error(&self) -> PortOneError {
        PortOneError::pg(&self.pg_code, &self.pg_message)
    }

    /// The payment's or billing key's `failure` JSON (without `failedAt`).
    pub fn failure(&self) -> Value {
        json!({ "reason": self.pg_message, "pgCode": self.pg_code, "pgMessage": self.pg_message })
    }
}

/// A well-formed card: digits of the number and the last day it is valid in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Card {
    pub number: String,
    pub expiry_year: i32,
    pub expiry_month: u32,
}

impl Card {
    /// Checks a credential's number and expiry (`field` names it in errors). Dashes and
    /// spaces in the number are ignored.
    ///
    /// # Errors
    /// `400 INVALID_REQUEST` naming the field that is malformed.
    pub fn parse(field: &str, number: &str, year: &str, month: &str) -> Result<Self, PortOneError> {
        let digits: String = number.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        if !(13..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PortOneError::invalid(format!(
                "{field}.number must be 13 to 19 digits"
            )));
        }
        let month_n: u32 = month
            .parse()
            .ok()
            .filter(|m| (1..=12).contains(m) && month.len() == 2)
            .ok_or_else(|| {
                PortOneError::invalid(format!(
                    "{field}.expiryMonth must be MM (01-12), got {month:?}"
                ))
            })?;
        let year_n: i32 = match year.len() {
            2 | 4 if year.bytes().all(|b| b.is_ascii_digit()) => {
                let y: i32 = year.parse().unwrap_or(0);
                if year.len() == 2 { 2000 + y } else { y }
            }
            _ => {
                return Err(PortOneError::invalid(format!(
                    "{field}.expiryYear must be YY, got {year:?}"
                )));
            }
        };
        Ok(Self {
            number: digits,
            expiry_year: year_n,
            expiry_month: month_n,
        })
    }

    /// A card as the checkout route names it: `expiry` is `MM/YY` (or `MMYY`).
    ///
    /// # Errors
    /// `400 INVALID_REQUEST` naming `card.number` or `card.expiry`.
    pub fn parse_checkout(number: &str, expiry: &str) -> Result<Self, PortOneError> {
        let compact: String = expiry.chars().filter(char::is_ascii_digit).collect();
        if compact.len() != 4 {
            return Err(PortOneError::invalid(format!(
                "card.expiry must be MM/YY, got {expiry:?}"
            )));
        }
        Self::parse("card", number, &compact[2..], &compact[..2])
    }

    /// `true` once the fake's clock is past the expiry month.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        (now.year(), now.month()) > (self.expiry_year, self.expiry_month)
    }

    /// The `Card` JSON: masked number, BIN, brand.
    pub fn render(&self) -> Value {
        let n = &self.number;
        let brand = match n.as_bytes()[0] {
            b'4' => "VISA",
            b'5' | b'2' => "MASTER",
            b'3' if n.starts_with("35") => "JCB",
            b'3' => "AMEX",
            b'6' => "UNIONPAY",
            _ => "LOCAL",
        };
        let masked = format!(
            "{}{}{}",
            &n[..6],
            "*".repeat(n.len() - 10),
            &n[n.len() - 4..]
        );
        json!({
            "publisher": "FAKE",
            "issuer": "FAKE",
            "brand": brand,
            "type": "CREDIT",
            "ownerType": "PERSONAL",
            "bin": &n[..6],
            "name": "Fake card",
            "number": masked,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_masks_and_expires() {
        let c = Card::parse("c", "4330-1234-1234-1234", "30", "12").unwrap();
        assert_eq!(c.render()["number"], "433012******1234");
        assert_eq!(c.render()["brand"], "VISA");
        let now = "2031-01-01T00:00:00Z".parse().unwrap();
        assert!(c.is_expired(now));
        assert!(!c.is_expired("2030-12-31T00:00:00Z".parse().unwrap()));
        let e = Card::parse("method.card.credential", "12", "30", "12").unwrap_err();
        assert!(e.message.contains("method.card.credential.number"), "{e}");
        assert!(Card::parse("c", "4330123412341234", "30", "13").is_err());
        assert_eq!(
            Card::parse_checkout("4330123412341234", "07/29")
                .unwrap()
                .expiry_month,
            7
        );
    }
}
