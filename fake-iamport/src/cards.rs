//! Card input checks, the card-company lookup by number, and the documented table of
//! card numbers the fake declines (see the crate docs for the table).

use crate::envelope::ApiError;
use crate::fields::digits;

/// Where a decline applies: issuing a billing key does not move money, so balance
/// declines only show at charge time, while a blocked or invalid card fails both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Saving the card as a billing key (`POST /subscribe/customers/{customer_uid}`).
    Register,
    /// Charging the card (`onetime`, `again`).
    Charge,
}

/// One row of the declined-card table.
#[derive(Debug, Clone, Copy)]
pub struct DeclinedCard {
    /// The card number, 16 digits without dashes.
    pub number: &'static str,
    /// The `fail_reason` (charges) or error `message` (registration) the fake returns.
    pub message: &'static str,
    /// Whether registering the card as a billing key also fails (otherwise only charges do).
    pub declines_registration: bool,
}

/// Card numbers that always decline, with the card company's message.
pub const DECLINED_CARDS: &[DeclinedCard] = &[
    DeclinedCard {
        number: "4000000000000002",
        message: "[8326] 한도초과 - 카드 한도가 초과되었습니다 (credit limit exceeded)",
        declines_registration: false,
    },
    DeclinedCard {
        number: "4000000000000010",
        message: "[8350] 잔액부족 - 체크카드 잔액이 부족합니다 (insufficient funds)",
        declines_registration: false,
    },
    DeclinedCard {
        number: "4000000000000028",
        message: "[8314] 거래정지카드 - 카드사에 문의하세요 (card suspended)",
        declines_registration: true,
    },
    DeclinedCard {
        number: "4000000000000036",
        message: "[8324] 분실/도난 신고된 카드입니다 (card reported lost or stolen)",
        declines_registration: true,
    },
    DeclinedCard {
        number: "4000000000000044",
        message: "[8301] 카드번호 오류 - 유효하지 않은 카드번호입니다 (invalid card number)",
        declines_registration: true,
    },
    DeclinedCard {
        number: "4000000000000051",
        message: "[8373] 유효기간 오류 - 카드 유효기간을 확인하세요 (wrong expiry)",
        declines_registration: true,
    },
    DeclinedCard {
        number: "4000000000000069",
        message: "[8371] 비밀번호 오류 - 카드 비밀번호 앞 2자리가 일치하지 않습니다 (wrong password digits)",
        declines_registration: true,
    },
    DeclinedCard {
        number: "4000000000000077",
        message: "[8380] 해외결제 차단 카드입니다 (card blocked by issuer)",
        declines_registration: false,
    },
];

/// The message for a card whose expiry month has passed (any number).
pub(crate) const EXPIRED_CARD: &str =
    "[8373] 유효기간 만료 - 유효기간이 지난 카드입니다 (card expired)";

/// The table's decline for `number` at `stage`, if any.
pub(crate) fn table_decline(number: &str, stage: Stage) -> Option<&'static str> {
    DECLINED_CARDS
        .iter()
        .find(|d| d.number == number && (stage == Stage::Charge || d.declines_registration))
        .map(|d| d.message)
}

/// A validated card as the fake keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Card {
    /// 15 or 16 digits.
    pub(crate) number: String,
    /// Expiry year and month.
    pub(crate) expiry: (i32, u32),
}

impl Card {
    /// Checks `card_number` (`XXXX-XXXX-XXXX-XXXX` or digits), `expiry` (`YYYY-MM`),
    /// `birth` (`YYMMDD`, or a 10-digit business number) and `pwd_2digit`.
    pub(crate) fn parse(
        number: &str,
        expiry: &str,
        birth: &str,
        pwd_2digit: Option<&str>,
    ) -> Result<Self, ApiError> {
        let number_digits = digits(number);
        let shape_ok = number
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ' ');
        if !shape_ok || !(15..=16).contains(&number_digits.len()) {
            return Err(ApiError::bad_request(format!(
                "`card_number` must be 15-16 digits like 1234-5678-1234-5678, got {number:?}"
            )));
        }
        let expiry = parse_expiry(expiry)?;
        let b = digits(birth);
        if b.len() != birth.len() || !(b.len() == 6 && valid_yymmdd(&b) || b.len() == 10) {
            return Err(ApiError::bad_request(format!(
                "`birth` must be YYMMDD (6 digits) or a 10-digit business number, got {birth:?}"
            )));
        }
        if let Some(p) = pwd_2digit
            && (p.len() != 2 || !p.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(ApiError::bad_request(
                "`pwd_2digit` must be the first 2 digits of the card password",
            ));
        }
        Ok(Self {
            number: number_digits,
            expiry,
        })
    }

    /// Whether the card is past its expiry month at Unix time `now`.
    pub(crate) fn expired_at(&self, now: i64) -> bool {
        let (y, m) = year_month(now);
        (y, m) > self.expiry
    }

    /// The card number as the spec's pattern wants it: the first 6 and last 4 digits
    /// kept, the middle masked with zeros (`\d{4}-\d{4}-\d{4}-\d{4}` forbids `*`).
    pub(crate) fn masked(&self) -> String {
        let n = &self.number;
        let mut d: Vec<char> = n.chars().collect();
        let len = d.len();
        for c in d.iter_mut().take(len.saturating_sub(4)).skip(6) {
            *c = '0';
        }
        while d.len() < 16 {
            d.insert(6, '0');
        }
        let s: String = d.into_iter().collect();
        format!("{}-{}-{}-{}", &s[0..4], &s[4..8], &s[8..12], &s[12..16])
    }

    /// `(card_code, card_name)` of the issuing company, chosen by the first digit.
    pub(crate) fn company(&self) -> (&'static str, &'static str) {
        match self.number.as_bytes().first() {
            Some(b'3') => ("365", "삼성카드"),
            Some(b'4') => ("366", "신한카드"),
            Some(b'5') => ("381", "KB국민카드"),
            Some(b'6') => ("368", "롯데카드"),
            Some(b'9') => ("361", "BC카드"),
            _ => ("367", "현대카드"),
        }
    }
}

fn parse_expiry(expiry: &str) -> Result<(i32, u32), ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "`expiry` must be YYYY-MM (e.g. 2030-12), got {expiry:?}"
        ))
    };
    let d = digits(expiry);
    let shape_ok = expiry.len() == 7 && expiry.as_bytes().get(4) == Some(&b'-')
        || expiry.len() == 6 && d.len() == 6;
    if !shape_ok || d.len() != 6 {
        return Err(bad());
    }
    let y: i32 = d[0..4].parse().map_err(|_| bad())?;
    let m: u32 = d[4..6].parse().map_err(|_| bad())?;
    if !(1..=12).contains(&m) {
        return Err(bad());
    }
    Ok((y, m))
}

fn valid_yymmdd(d: &str) -> bool {
    let m: u32 = d[2..4].parse().unwrap_or(0);
    let day: u32 = d[4..6].parse().unwrap_or(0);
    (1..=12).contains(&m) && (1..=31).contains(&day)
}

/// The (year, month) of Unix time `now` in Korea Standard Time (UTC+9).
pub(crate) fn year_month(now: i64) -> (i32, u32) {
    use chrono::Datelike;
    let kst = chrono::DateTime::from_timestamp(now.saturating_add(9 * 3600), 0).unwrap_or_default();
    (kst.year(), kst.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_masks() {
        let c = Card::parse("4111-1111-2222-3333", "2030-12", "900101", Some("12")).expect("ok");
        assert_eq!(c.number, "4111111122223333");
        assert_eq!(c.masked(), "4111-1100-0000-3333");
        assert_eq!(c.company(), ("366", "신한카드"));
    }

    #[test]
    fn rejects_bad_fields_by_name() {
        let e = Card::parse("4111", "2030-12", "900101", None).expect_err("short");
        assert!(e.message.contains("card_number"));
        let e = Card::parse("4111-1111-2222-3333", "2030-13", "900101", None).expect_err("m");
        assert!(e.message.contains("expiry"));
        let e = Card::parse("4111-1111-2222-3333", "2030-12", "901301", None).expect_err("b");
        assert!(e.message.contains("birth"));
        let e = Card::parse("4111-1111-2222-3333", "2030-12", "900101", Some("1")).expect_err("p");
        assert!(e.message.contains("pwd_2digit"));
    }

    #[test]
    fn expiry_follows_the_clock() {
        let c = Card::parse("4111111122223333", "2026-11", "900101", None).expect("ok");
        // 2026-11-15 and 2026-12-01 (UTC noon)
        assert!(!c.expired_at(1_763_208_000 + 365 * 86_400));
        assert!(c.expired_at(1_796_126_400));
    }

    #[test]
    fn table_respects_stage() {
        assert!(table_decline("4000000000000002", Stage::Charge).is_some());
        assert!(table_decline("4000000000000002", Stage::Register).is_none());
        assert!(table_decline("4000000000000028", Stage::Register).is_some());
        assert!(table_decline("4111111111111111", Stage::Charge).is_none());
    }
}
