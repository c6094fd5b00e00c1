//! Card numbers the fake declines, with the error Toss answers for each.
//!
//! Every instance starts with [`DECLINED_CARDS`]; a test adds its own with
//! [`crate::FakeToss::decline_card`]. A declined number fails key-in payments, billing-key
//! registration, billing charges on a key registered for it, and — in the widget flow
//! (`__approved: false`) — the confirmation, which leaves the payment `ABORTED`.

use crate::error::TossError;

/// One row of the declined-card table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclinedCard {
    /// The 16-digit card number that triggers the decline.
    pub number: &'static str,
    /// HTTP status of the error.
    pub status: u16,
    /// Toss error code.
    pub code: &'static str,
    /// Toss error message.
    pub message: &'static str,
}

/// The built-in declined-card table (every other 16-digit number is approved).
///
/// | card number        | status | code |
/// |--------------------|--------|------|
/// | `4000000000000002` | 403 | `REJECT_CARD_PAYMENT` (limit exceeded / insufficient balance) |
/// | `4000000000000010` | 403 | `REJECT_CARD_COMPANY` (card company refused) |
/// | `4000000000000028` | 400 | `INVALID_CARD_EXPIRATION` |
/// | `4000000000000036` | 400 | `INVALID_STOPPED_CARD` |
/// | `4000000000000044` | 400 | `INVALID_CARD_LOST_OR_STOLEN` |
/// | `4000000000000051` | 403 | `EXCEED_MAX_DAILY_PAYMENT_COUNT` |
/// | `4000000000000069` | 400 | `INVALID_REJECT_CARD` |
/// | `4000000000000077` | 403 | `NOT_AVAILABLE_PAYMENT` |
pub const DECLINED_CARDS: &[DeclinedCard] = &[
    DeclinedCard {
        number: "4000000000000002",
        status: 403,
        code: "REJECT_CARD_PAYMENT",
        message: "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
    },
    DeclinedCard {
        number: "4000000000000010",
        status: 403,
        code: "REJECT_CARD_COMPANY",
        message: "결제 승인이 거절되었습니다.",
    },
    DeclinedCard {
        number: "4000000000000028",
        status: 400,
        code: "INVALID_CARD_EXPIRATION",
        message: "카드 정보를 다시 확인해주세요. (유효기간)",
    },
    DeclinedCard {
        number: "4000000000000036",
        status: 400,
        code: "INVALID_STOPPED_CARD",
        message: "정지된 카드 입니다.",
    },
    DeclinedCard {
        number: "4000000000000044",
        status: 400,
        code: "INVALID_CARD_LOST_OR_STOLEN",
        message: "분실 혹은 도난 카드입니다.",
    },
    DeclinedCard {
        number: "4000000000000051",
        status: 403,
        code: "EXCEED_MAX_DAILY_PAYMENT_COUNT",
        message: "하루 결제 가능 횟수를 초과했습니다.",
    },
    DeclinedCard {
        number: "4000000000000069",
        status: 400,
        code: "INVALID_REJECT_CARD",
        message: "카드 사용이 거절되었습니다. 카드사 문의가 필요한 거래입니다.",
    },
    DeclinedCard {
        number: "4000000000000077",
        status: 403,
        code: "NOT_AVAILABLE_PAYMENT",
        message: "결제가 불가능한 시간대입니다.",
    },
];

/// The error a built-in declined number produces, if it is one.
pub(crate) fn builtin_decline(number: &str) -> Option<TossError> {
    DECLINED_CARDS
        .iter()
        .find(|c| c.number == number)
        .map(|c| TossError::new(c.status, c.code, c.message))
}
