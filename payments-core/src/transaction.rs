//! [`Transaction`]: the life of one approval of an order's amount at a PG.
//!
//! ```text
//! pending ──approve──▶ approved ──cancel (part)──▶ partially_cancelled ──cancel──▶ …
//!    │                    │                              │
//!    └──fail──▶ failed    └──cancel (all)──▶ cancelled ◀─┘ (balance reaches zero)
//! ```
//!
//! Every transition is a method that either changes the transaction and returns the
//! [`TransactionEvent`] whoever must react consumes (notifications, stock, live status),
//! or leaves it unchanged and returns a typed [`TransactionError`]. The rules: only a
//! pending transaction is approved (for exactly its total) or failed; only an approved or
//! partially cancelled one is cancelled; a cancel is positive, in the transaction's
//! currency and at most the balance, so the sum of cancels never exceeds what was paid.
//! Time is always an argument.
//!
//! The status messages are Korean, as a kiosk screen shows them.

use crate::money::{Currency, Money};
use crate::order::OrderId;
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// Where a transaction is in its life. Serialized in snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionStatus {
    /// Waiting for the PG's answer.
    Pending,
    /// Approved, nothing cancelled.
    Approved,
    /// Refused by the PG. Final.
    Failed,
    /// Approved, part of it cancelled; a positive balance remains.
    PartiallyCancelled,
    /// Approved, then cancelled in full. Final.
    Cancelled,
}

impl TransactionStatus {
    /// The snake_case word it is serialized as.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Failed => "failed",
            Self::PartiallyCancelled => "partially_cancelled",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for TransactionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A transition, as named in [`TransactionError::IllegalTransition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionAction {
    /// [`Transaction::approve`].
    Approve,
    /// [`Transaction::fail`].
    Fail,
    /// [`Transaction::cancel`] and friends.
    Cancel,
}

impl fmt::Display for TransactionAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Approve => "approve",
            Self::Fail => "fail",
            Self::Cancel => "cancel",
        })
    }
}

/// The PG's reason for refusing a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureReason {
    /// The PG's error code (e.g. Toss's `REJECT_CARD_COMPANY`).
    pub code: String,
    /// The PG's message, shown to the customer.
    pub message: String,
}

/// One cancel of an approved transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRecord {
    /// How much was cancelled; positive.
    pub amount: Money,
    /// Why.
    pub reason: String,
    /// When.
    #[serde(with = "crate::timestamp")]
    pub at: Timestamp,
}

/// Why a transaction operation was refused. The transaction is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    /// A transaction for a zero amount.
    #[error("a transaction's total must be positive")]
    ZeroTotal,
    /// The transition is not allowed from the current status.
    #[error("cannot {action} a {from} transaction")]
    IllegalTransition {
        /// The current status.
        from: TransactionStatus,
        /// The refused transition.
        action: TransactionAction,
    },
    /// The PG approved another amount (or currency) than the transaction's total.
    #[error("the PG approved {approved}, the transaction is for {expected}")]
    AmountMismatch {
        /// The transaction's total.
        expected: Money,
        /// What the PG approved.
        approved: Money,
    },
    /// A cancel in another currency than the transaction's.
    #[error("a cancel in {found} for a transaction in {expected}")]
    CurrencyMismatch {
        /// The transaction's currency.
        expected: Currency,
        /// The cancel's currency.
        found: Currency,
    },
    /// A cancel of zero.
    #[error("a cancel amount must be positive, got zero")]
    ZeroCancel,
    /// A cancel of a negative amount (only [`Transaction::cancel_minor`] can see one).
    #[error("a cancel amount must be positive, got {amount}")]
    NegativeCancel {
        /// The refused amount, in minor units.
        amount: i64,
    },
    /// A cancel larger than what remains paid.
    #[error("cannot cancel {requested}: only {balance} remains")]
    ExceedsBalance {
        /// The requested cancel.
        requested: Money,
        /// What remains paid.
        balance: Money,
    },
    /// A stored transaction whose fields contradict its history (deserialization only).
    #[error("inconsistent stored transaction: {field} does not match its history")]
    InconsistentRecord {
        /// The contradicting field.
        field: &'static str,
    },
}

/// What a transition did, for whoever must react. Serde: tagged by `"type"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TransactionEvent {
    /// The PG approved the payment.
    Approved {
        /// The transaction.
        transaction_id: Uuid,
        /// Its order.
        order_id: OrderId,
        /// The approved (paid) amount.
        amount: Money,
        /// When.
        #[serde(with = "crate::timestamp")]
        at: Timestamp,
    },
    /// The PG refused the payment.
    Failed {
        /// The transaction.
        transaction_id: Uuid,
        /// Its order.
        order_id: OrderId,
        /// The amount that was not paid.
        amount: Money,
        /// The PG's reason.
        reason: FailureReason,
        /// When.
        #[serde(with = "crate::timestamp")]
        at: Timestamp,
    },
    /// Part or all of the payment was cancelled.
    Cancelled {
        /// The transaction.
        transaction_id: Uuid,
        /// Its order.
        order_id: OrderId,
        /// This cancel's amount.
        amount: Money,
        /// Everything cancelled so far, this cancel included.
        cancelled: Money,
        /// What remains paid.
        balance: Money,
        /// Whether this cancel emptied the balance (status `cancelled`).
        full: bool,
        /// Why.
        reason: String,
        /// When.
        #[serde(with = "crate::timestamp")]
        at: Timestamp,
    },
}

/// One approval's state. Fields are private: only the transitions change them, so the
/// invariants hold (`cancelled == Σ cancels <= paid`, `balance == paid - cancelled`,
/// `paid` is zero until approved and then equals `total`).
///
/// Serde for storage: `{"id", "order_id", "total", "status", "created_at", "approved_at",
/// "paid", "failure", "failed_at", "cancels", "cancelled", "balance"}`. Deserializing
/// replays the history through the transitions and refuses a record whose stated
/// `status`, `paid` or `cancelled` disagrees ([`TransactionError::InconsistentRecord`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TransactionRepr")]
pub struct Transaction {
    id: Uuid,
    order_id: OrderId,
    total: Money,
    status: TransactionStatus,
    #[serde(with = "crate::timestamp")]
    created_at: Timestamp,
    #[serde(with = "crate::timestamp::option")]
    approved_at: Option<Timestamp>,
    paid: Money,
    failure: Option<FailureReason>,
    #[serde(with = "crate::timestamp::option")]
    failed_at: Option<Timestamp>,
    cancels: Vec<CancelRecord>,
    cancelled: Money,
    /// Derived (`paid - cancelled`), kept as a field so storage shows it.
    balance: Money,
}

impl Transaction {
    /// A pending transaction `id` for `total` of `order_id`, created at `at`.
    ///
    /// # Errors
    /// [`TransactionError::ZeroTotal`] when `total` is zero.
    pub fn pending(
        id: Uuid,
        order_id: OrderId,
        total: Money,
        at: Timestamp,
    ) -> Result<Transaction, TransactionError> {
        if total.is_zero() {
            return Err(TransactionError::ZeroTotal);
        }
        let zero = Money::zero(total.currency());
        Ok(Transaction {
            id,
            order_id,
            total,
            status: TransactionStatus::Pending,
            created_at: at,
            approved_at: None,
            paid: zero,
            failure: None,
            failed_at: None,
            cancels: Vec::new(),
            cancelled: zero,
            balance: zero,
        })
    }

    fn illegal(&self, action: TransactionAction) -> TransactionError {
        TransactionError::IllegalTransition {
            from: self.status,
            action,
        }
    }

    /// The PG approved `amount` at `at`: pending → approved.
    ///
    /// # Errors
    /// [`TransactionError::IllegalTransition`] unless pending;
    /// [`TransactionError::AmountMismatch`] when `amount` is not the total (a PG that
    /// approved another amount must be cancelled, not recorded).
    pub fn approve(
        &mut self,
        amount: Money,
        at: Timestamp,
    ) -> Result<TransactionEvent, TransactionError> {
        if self.status != TransactionStatus::Pending {
            return Err(self.illegal(TransactionAction::Approve));
        }
        if amount != self.total {
            return Err(TransactionError::AmountMismatch {
                expected: self.total,
                approved: amount,
            });
        }
        self.status = TransactionStatus::Approved;
        self.approved_at = Some(at);
        self.paid = amount;
        self.balance = amount;
        Ok(TransactionEvent::Approved {
            transaction_id: self.id,
            order_id: self.order_id.clone(),
            amount,
            at,
        })
    }

    /// The PG refused the payment at `at`: pending → failed.
    ///
    /// # Errors
    /// [`TransactionError::IllegalTransition`] unless pending.
    pub fn fail(
        &mut self,
        reason: FailureReason,
        at: Timestamp,
    ) -> Result<TransactionEvent, TransactionError> {
        if self.status != TransactionStatus::Pending {
            return Err(self.illegal(TransactionAction::Fail));
        }
        self.status = TransactionStatus::Failed;
        self.failure = Some(reason.clone());
        self.failed_at = Some(at);
        Ok(TransactionEvent::Failed {
            transaction_id: self.id,
            order_id: self.order_id.clone(),
            amount: self.total,
            reason,
            at,
        })
    }

    /// Cancels `amount` of the paid amount at `at`: approved or partially cancelled →
    /// partially cancelled, or cancelled when the balance reaches zero.
    ///
    /// # Errors
    /// In this order: [`TransactionError::IllegalTransition`] unless approved or partially
    /// cancelled; [`TransactionError::CurrencyMismatch`]; [`TransactionError::ZeroCancel`];
    /// [`TransactionError::ExceedsBalance`] when `amount` is more than the balance.
    pub fn cancel(
        &mut self,
        amount: Money,
        reason: impl Into<String>,
        at: Timestamp,
    ) -> Result<TransactionEvent, TransactionError> {
        if !matches!(
            self.status,
            TransactionStatus::Approved | TransactionStatus::PartiallyCancelled
        ) {
            return Err(self.illegal(TransactionAction::Cancel));
        }
        if amount.currency() != self.total.currency() {
            return Err(TransactionError::CurrencyMismatch {
                expected: self.total.currency(),
                found: amount.currency(),
            });
        }
        if amount.is_zero() {
            return Err(TransactionError::ZeroCancel);
        }
        let exceeds = || TransactionError::ExceedsBalance {
            requested: amount,
            balance: self.balance,
        };
        let balance = self.balance.checked_sub(amount).map_err(|_| exceeds())?;
        // cancelled + amount <= cancelled + balance == paid, so this cannot overflow;
        // map the impossible error anyway rather than panic.
        let cancelled = self.cancelled.checked_add(amount).map_err(|_| exceeds())?;
        let reason = reason.into();
        self.balance = balance;
        self.cancelled = cancelled;
        let full = balance.is_zero();
        self.status = if full {
            TransactionStatus::Cancelled
        } else {
            TransactionStatus::PartiallyCancelled
        };
        self.cancels.push(CancelRecord {
            amount,
            reason: reason.clone(),
            at,
        });
        Ok(TransactionEvent::Cancelled {
            transaction_id: self.id,
            order_id: self.order_id.clone(),
            amount,
            cancelled,
            balance,
            full,
            reason,
            at,
        })
    }

    /// [`Transaction::cancel`] for an amount in minor units of the transaction's currency,
    /// as a request carries it (`Cancel.Create.price`).
    ///
    /// # Errors
    /// [`TransactionError::NegativeCancel`] for `amount < 0`; otherwise as
    /// [`Transaction::cancel`].
    pub fn cancel_minor(
        &mut self,
        amount: i64,
        reason: impl Into<String>,
        at: Timestamp,
    ) -> Result<TransactionEvent, TransactionError> {
        // Money::new refuses nothing but a negative amount.
        let amount = Money::new(amount, self.total.currency())
            .map_err(|_| TransactionError::NegativeCancel { amount })?;
        self.cancel(amount, reason, at)
    }

    /// Cancels the whole remaining balance at `at` (→ cancelled).
    ///
    /// # Errors
    /// [`TransactionError::IllegalTransition`] unless approved or partially cancelled.
    pub fn cancel_all(
        &mut self,
        reason: impl Into<String>,
        at: Timestamp,
    ) -> Result<TransactionEvent, TransactionError> {
        self.cancel(self.balance, reason, at)
    }

    /// The transaction's id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The order it pays for.
    pub fn order_id(&self) -> &OrderId {
        &self.order_id
    }

    /// The current status.
    pub fn status(&self) -> TransactionStatus {
        self.status
    }

    /// What a kiosk screen shows for the status, in Korean: `결제 대기 중`, `승인 완료`,
    /// `결제 실패: <PG message>`, `부분 취소 (잔액 ₩7,000)`, `취소 완료`.
    pub fn status_message(&self) -> String {
        match self.status {
            TransactionStatus::Pending => "결제 대기 중".to_owned(),
            TransactionStatus::Approved => "승인 완료".to_owned(),
            TransactionStatus::Failed => match &self.failure {
                Some(reason) => format!("결제 실패: {}", reason.message),
                None => "결제 실패".to_owned(),
            },
            TransactionStatus::PartiallyCancelled => format!("부분 취소 (잔액 {})", self.balance),
            TransactionStatus::Cancelled => "취소 완료".to_owned(),
        }
    }

    /// The amount to approve (the order's total after discounts).
    pub fn total(&self) -> Money {
        self.total
    }

    /// What the PG approved: zero until approved, then the total.
    pub fn paid(&self) -> Money {
        self.paid
    }

    /// The sum of the cancels; never above [`Transaction::paid`].
    pub fn cancelled(&self) -> Money {
        self.cancelled
    }

    /// What remains paid: `paid - cancelled`.
    pub fn balance(&self) -> Money {
        self.balance
    }

    /// The cancels, oldest first.
    pub fn cancels(&self) -> &[CancelRecord] {
        &self.cancels
    }

    /// The PG's reason, once failed.
    pub fn failure(&self) -> Option<&FailureReason> {
        self.failure.as_ref()
    }

    /// When it was created.
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// When it was approved.
    pub fn approved_at(&self) -> Option<Timestamp> {
        self.approved_at
    }

    /// When it failed.
    pub fn failed_at(&self) -> Option<Timestamp> {
        self.failed_at
    }

    /// When it was cancelled in full (the last cancel's time).
    pub fn cancelled_at(&self) -> Option<Timestamp> {
        match self.status {
            TransactionStatus::Cancelled => self.cancels.last().map(|c| c.at),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct TransactionRepr {
    id: Uuid,
    order_id: OrderId,
    total: Money,
    status: TransactionStatus,
    #[serde(with = "crate::timestamp")]
    created_at: Timestamp,
    #[serde(default, with = "crate::timestamp::option")]
    approved_at: Option<Timestamp>,
    paid: Money,
    #[serde(default)]
    failure: Option<FailureReason>,
    #[serde(default, with = "crate::timestamp::option")]
    failed_at: Option<Timestamp>,
    #[serde(default)]
    cancels: Vec<CancelRecord>,
    cancelled: Money,
}

impl TryFrom<TransactionRepr> for Transaction {
    type Error = TransactionError;

    /// Replays the stored history, so a stored transaction is one the transitions could
    /// have produced.
    fn try_from(repr: TransactionRepr) -> Result<Self, Self::Error> {
        let mut tx = Transaction::pending(repr.id, repr.order_id, repr.total, repr.created_at)?;
        match (repr.approved_at, repr.failure, repr.failed_at) {
            (None, None, None) => {}
            (Some(at), None, None) => {
                tx.approve(repr.paid, at)?;
            }
            (None, Some(reason), Some(at)) => {
                tx.fail(reason, at)?;
            }
            _ => {
                return Err(TransactionError::InconsistentRecord {
                    field: "approved_at/failure/failed_at",
                });
            }
        }
        for cancel in repr.cancels {
            tx.cancel(cancel.amount, cancel.reason, cancel.at)?;
        }
        if tx.status != repr.status {
            return Err(TransactionError::InconsistentRecord { field: "status" });
        }
        if tx.paid != repr.paid {
            return Err(TransactionError::InconsistentRecord { field: "paid" });
        }
        if tx.cancelled != repr.cancelled {
            return Err(TransactionError::InconsistentRecord { field: "cancelled" });
        }
        Ok(tx)
    }
}
