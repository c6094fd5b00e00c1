//! The words the stores keep for typed values (statuses, kinds), read back through the
//! type's own serde names, so the column and the wire spell every word the same way and a
//! word no variant has is a [`StoreError::Corrupt`], never a silent default.

use super::StoreError;
use serde::de::DeserializeOwned;
use serde::de::value::{Error, StrDeserializer};

/// Reads `text`, a word from `column`, as the enum `T` spells it in serde.
///
/// # Errors
/// [`StoreError::Corrupt`] naming `column` when no variant of `T` is spelled `text`.
pub(crate) fn parse<T: DeserializeOwned>(
    text: &str,
    column: &'static str,
) -> Result<T, StoreError> {
    T::deserialize(StrDeserializer::<Error>::new(text)).map_err(|_| StoreError::Corrupt(column))
}

#[cfg(test)]
mod tests {
    use super::parse;
    use payments_core::records::charges::TransactionKind;
    use payments_core::records::coupons::CouponStatus;
    use payments_core::transaction::TransactionStatus;
    use payments_core::vendor::PaymentStatus;
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use std::fmt::Debug;

    /// Every variant's `as_str` is its serde word and reads back as itself.
    fn round_trips<T>(variants: &[T], as_str: fn(T) -> &'static str)
    where
        T: Copy + Debug + PartialEq + Serialize + DeserializeOwned,
    {
        for &variant in variants {
            let word = as_str(variant);
            assert_eq!(serde_json::to_value(variant).unwrap(), word, "{variant:?}");
            assert_eq!(parse::<T>(word, "status").unwrap(), variant);
        }
    }

    #[test]
    fn every_stored_word_is_the_serde_word_and_reads_back() {
        use PaymentStatus::*;
        round_trips(
            &[
                Ready,
                AwaitingConfirmation,
                WaitingForDeposit,
                Paid,
                PartiallyCancelled,
                Cancelled,
                Failed,
                Expired,
            ],
            PaymentStatus::as_str,
        );
        round_trips(
            &[
                TransactionStatus::Pending,
                TransactionStatus::Approved,
                TransactionStatus::Failed,
                TransactionStatus::PartiallyCancelled,
                TransactionStatus::Cancelled,
            ],
            TransactionStatus::as_str,
        );
        round_trips(
            &[
                TransactionKind::Charge,
                TransactionKind::Coupon,
                TransactionKind::Payment,
            ],
            TransactionKind::as_str,
        );
        round_trips(
            &[
                CouponStatus::Issued,
                CouponStatus::Registered,
                CouponStatus::Redeemed,
            ],
            CouponStatus::as_str,
        );
    }

    #[test]
    fn an_unknown_word_is_corrupt_and_names_its_column() {
        let error = parse::<PaymentStatus>("PAID", "histories.status").unwrap_err();
        assert!(matches!(
            error,
            crate::store::StoreError::Corrupt("histories.status")
        ));
        assert!(parse::<TransactionKind>("", "transactions.kind").is_err());
    }
}
