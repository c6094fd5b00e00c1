//! A payment's amounts (`amount{total, taxFree, vat, supply, discount, paid, cancelled,
//! cancelledTaxFree}`) and the arithmetic of partial cancels, kept consistent:
//! `total = supply + vat + taxFree`, `0 <= cancelled <= paid`, and the tax-free and VAT
//! parts of the cancels never exceed what was paid of each.

use serde_json::{Value, json};

use crate::error::{ErrorKind, PortOneError};

/// The amounts of one payment, in the currency's minor unit (KRW has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Amounts {
    pub total: i64,
    pub tax_free: i64,
    pub vat: i64,
    pub paid: i64,
    pub cancelled: i64,
    pub cancelled_tax_free: i64,
    pub cancelled_vat: i64,
}

/// What one cancel takes off: its total and the tax-free and VAT parts of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CancelParts {
    pub total: i64,
    pub tax_free: i64,
    pub vat: i64,
}

/// A cancel request's amount fields, as the merchant sent them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CancelAsk {
    pub amount: Option<i64>,
    pub tax_free: Option<i64>,
    pub vat: Option<i64>,
    pub current_cancellable: Option<i64>,
}

/// Korean VAT included in a taxable amount: one eleventh, rounded half up.
fn vat_of(taxable: i64) -> i64 {
    (taxable + 5) / 11
}

fn err(kind: ErrorKind, message: String) -> PortOneError {
    PortOneError::new(kind, message)
}

impl Amounts {
    /// The amounts of a new, unpaid payment.
    ///
    /// # Errors
    /// `400 INVALID_REQUEST` for a non-positive total or a negative part;
    /// `409 SUM_OF_PARTS_EXCEEDS_TOTAL_AMOUNT` when `taxFree + vat` exceeds the total.
    pub fn new(total: i64, tax_free: Option<i64>, vat: Option<i64>) -> Result<Self, PortOneError> {
        if total <= 0 {
            return Err(PortOneError::invalid(format!(
                "amount.total must be positive, got {total}"
            )));
        }
        let tax_free = tax_free.unwrap_or(0);
        if tax_free < 0 {
            return Err(PortOneError::invalid(format!(
                "amount.taxFree must not be negative, got {tax_free}"
            )));
        }
        if tax_free > total {
            return Err(err(
                ErrorKind::SumOfPartsExceedsTotalAmount,
                format!("amount.taxFree {tax_free} exceeds amount.total {total}"),
            ));
        }
        let vat = vat.unwrap_or_else(|| vat_of(total - tax_free));
        if vat < 0 {
            return Err(PortOneError::invalid(format!(
                "amount.vat must not be negative, got {vat}"
            )));
        }
        if tax_free + vat > total {
            return Err(err(
                ErrorKind::SumOfPartsExceedsTotalAmount,
                format!("amount.taxFree {tax_free} + amount.vat {vat} exceed amount.total {total}"),
            ));
        }
        Ok(Self {
            total,
            tax_free,
            vat,
            paid: 0,
            cancelled: 0,
            cancelled_tax_free: 0,
            cancelled_vat: 0,
        })
    }

    /// The supply value: the taxable part without its VAT.
    pub fn supply(&self) -> i64 {
        self.total - self.tax_free - self.vat
    }

    /// What can still be cancelled (`paid - cancelled`).
    pub fn cancellable(&self) -> i64 {
        self.paid - self.cancelled
    }

    /// Marks the whole total paid (discounts are not modelled).
    pub fn mark_paid(&mut self) {
        self.paid = self.total;
    }

    /// Checks a cancel request against what is left and works out its parts: without
    /// `amount` the whole rest; without `taxFreeAmount` the tax-free part is used only once
    /// the taxable part is exhausted (all of it on a full cancel); without `vatAmount` the
    /// VAT is what leaves one eleventh of the taxable rest (all of it when the taxable
    /// part is emptied).
    ///
    /// # Errors
    /// `409 CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN` when `currentCancellableAmount` differs
    /// from the real rest; `400 INVALID_REQUEST` for a non-positive amount or a negative
    /// part; `409 CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT`,
    /// `CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT`,
    /// `CANCEL_TAX_AMOUNT_EXCEEDS_CANCELLABLE_TAX_AMOUNT` or
    /// `SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT` when a part is too large.
    pub fn plan_cancel(&self, ask: CancelAsk) -> Result<CancelParts, PortOneError> {
        use ErrorKind as K;
        let cancellable = self.cancellable();
        if let Some(current) = ask.current_cancellable
            && current != cancellable
        {
            return Err(err(
                K::CancellableAmountConsistencyBroken,
                format!(
                    "currentCancellableAmount {current} differs from the cancellable amount {cancellable}"
                ),
            ));
        }
        let amount = ask.amount.unwrap_or(cancellable);
        if amount <= 0 {
            return Err(PortOneError::invalid(format!(
                "amount must be positive, got {amount}"
            )));
        }
        if amount > cancellable {
            return Err(err(
                K::CancelAmountExceedsCancellableAmount,
                format!("amount {amount} exceeds the cancellable amount {cancellable}"),
            ));
        }
        let rest_tax_free = self.tax_free - self.cancelled_tax_free;
        let rest_taxable = cancellable - rest_tax_free;
        let rest_vat = self.vat - self.cancelled_vat;
        let tax_free = ask
            .tax_free
            .unwrap_or_else(|| (amount - rest_taxable).clamp(0, rest_tax_free));
        if tax_free < 0 {
            return Err(PortOneError::invalid(format!(
                "taxFreeAmount must not be negative, got {tax_free}"
            )));
        }
        if tax_free > amount {
            return Err(err(
                K::SumOfPartsExceedsCancelAmount,
                format!("taxFreeAmount {tax_free} exceeds amount {amount}"),
            ));
        }
        if tax_free > rest_tax_free {
            return Err(err(
                K::CancelTaxFreeAmountExceedsCancellableTaxFreeAmount,
                format!(
                    "taxFreeAmount {tax_free} exceeds the cancellable tax-free amount {rest_tax_free}"
                ),
            ));
        }
        let taxable = amount - tax_free;
        if taxable > rest_taxable {
            return Err(err(
                K::CancelTaxAmountExceedsCancellableTaxAmount,
                format!(
                    "the taxable part {taxable} exceeds the cancellable taxable amount {rest_taxable}"
                ),
            ));
        }
        // Leave the VAT that belongs to the taxable rest, so that the rest can always be
        // cancelled later (the VAT left never exceeds the taxable amount left).
        let vat = ask.vat.unwrap_or_else(|| {
            (rest_vat - vat_of(rest_taxable - taxable)).clamp(0, rest_vat.min(taxable))
        });
        if vat < 0 {
            return Err(PortOneError::invalid(format!(
                "vatAmount must not be negative, got {vat}"
            )));
        }
        if vat > rest_vat {
            return Err(err(
                K::CancelTaxAmountExceedsCancellableTaxAmount,
                format!("vatAmount {vat} exceeds the cancellable VAT {rest_vat}"),
            ));
        }
        if vat + tax_free > amount {
            return Err(err(
                K::SumOfPartsExceedsCancelAmount,
                format!("vatAmount {vat} + taxFreeAmount {tax_free} exceed amount {amount}"),
            ));
        }
        Ok(CancelParts {
            total: amount,
            tax_free,
            vat,
        })
    }

    /// Books a planned cancel.
    pub fn apply_cancel(&mut self, parts: CancelParts) {
        self.cancelled += parts.total;
        self.cancelled_tax_free += parts.tax_free;
        self.cancelled_vat += parts.vat;
    }

    /// The `PaymentAmount` JSON.
    pub fn render(&self) -> Value {
        json!({
            "total": self.total,
            "taxFree": self.tax_free,
            "vat": self.vat,
            "supply": self.supply(),
            "discount": 0,
            "paid": self.paid,
            "cancelled": self.cancelled,
            "cancelledTaxFree": self.cancelled_tax_free,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn paid(total: i64, tax_free: i64) -> Amounts {
        let mut a = Amounts::new(total, Some(tax_free), None).unwrap();
        a.mark_paid();
        a
    }

    #[test]
    fn vat_defaults_to_one_eleventh_of_the_taxable_part() {
        let a = Amounts::new(11_000, Some(1_000), None).unwrap();
        assert_eq!((a.vat, a.supply()), (909, 9_091));
        assert_eq!(a.supply() + a.vat + a.tax_free, a.total);
    }

    #[test]
    fn parts_larger_than_the_total_are_refused() {
        let e = Amounts::new(1_000, Some(1_001), None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::SumOfPartsExceedsTotalAmount);
        let e = Amounts::new(1_000, Some(500), Some(501)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::SumOfPartsExceedsTotalAmount);
        assert_eq!(
            Amounts::new(0, None, None).unwrap_err().kind,
            ErrorKind::InvalidRequest
        );
    }

    #[test]
    fn over_cancel_and_stale_cancellable_amount_are_refused() {
        let a = paid(10_000, 0);
        let ask = |amount, current| CancelAsk {
            amount: Some(amount),
            current_cancellable: current,
            ..CancelAsk::default()
        };
        assert_eq!(
            a.plan_cancel(ask(10_001, None)).unwrap_err().kind,
            ErrorKind::CancelAmountExceedsCancellableAmount
        );
        assert_eq!(
            a.plan_cancel(ask(1, Some(9_999))).unwrap_err().kind,
            ErrorKind::CancellableAmountConsistencyBroken
        );
        assert_eq!(a.plan_cancel(ask(1, Some(10_000))).unwrap().total, 1);
    }

    #[test]
    fn tax_free_is_used_after_the_taxable_part() {
        let mut a = paid(11_000, 1_000);
        let first = a
            .plan_cancel(CancelAsk {
                amount: Some(10_500),
                ..CancelAsk::default()
            })
            .unwrap();
        assert_eq!(first.tax_free, 500);
        assert_eq!(
            first.vat, 909,
            "the whole taxable part goes, so all its VAT"
        );
        a.apply_cancel(first);
        let rest = a.plan_cancel(CancelAsk::default()).unwrap();
        assert_eq!((rest.total, rest.tax_free, rest.vat), (500, 500, 0));
    }

    proptest! {
        /// Whatever sequence of cancels is asked for, the books stay consistent and a final
        /// full cancel empties every part exactly.
        #[test]
        fn cancels_never_break_the_books(
            total in 1i64..2_000_000,
            tf_share in 0i64..=100,
            asks in proptest::collection::vec((1i64..2_000_000, proptest::option::of(0i64..200_000)), 0..6),
        ) {
            let mut a = paid(total, total * tf_share / 100);
            for (amount, tax_free) in asks {
                if let Ok(p) = a.plan_cancel(CancelAsk { amount: Some(amount), tax_free, ..CancelAsk::default() }) {
                    a.apply_cancel(p);
                }
                prop_assert!(a.cancelled <= a.paid);
                prop_assert!(a.cancelled_tax_free <= a.tax_free);
                prop_assert!(a.cancelled_vat <= a.vat);
            }
            if a.cancellable() > 0 {
                let rest = a.plan_cancel(CancelAsk::default()).unwrap();
                a.apply_cancel(rest);
            }
            prop_assert_eq!(a.cancelled, a.paid);
            prop_assert_eq!(a.cancelled_tax_free, a.tax_free);
            prop_assert_eq!(a.cancelled_vat, a.vat);
        }
    }
}
