//! Refunds the server issues on its own, never on a guess: only when no history holds
//! the payment, and always logged with the reason. Two callers may ask: a charge, for the
//! payment its own billing charge created, and a history create, for a payment of the
//! caller's order whose amount was tampered with (see [`crate::histories::create`]).

use crate::app::App;
use payments_core::vendor::{CancelPayment, PaymentGateway, VendorPayment};

/// Gives back a PG payment this request created, unless a history holds it; logs the
/// refund and its reason. Returns whether the refund was issued and accepted.
pub async fn refund_unrecorded(
    app: &App,
    gateway: &dyn PaymentGateway,
    payment: &VendorPayment,
    reason: &str,
) -> bool {
    match app
        .store
        .history_by_vendor_uid(payment.vendor, &payment.uid)
        .await
    {
        Ok(None) => {}
        Ok(Some(history)) => {
            tracing::error!(uid = %payment.uid, history = %history.id, reason, "not refunding a payment a history holds");
            return false;
        }
        Err(error) => {
            tracing::error!(uid = %payment.uid, %error, reason, "not refunding: cannot tell whether a history holds the payment");
            return false;
        }
    }
    tracing::warn!(uid = %payment.uid, order = %payment.order_id, amount = %payment.amount, reason, "refunding a PG payment the server created and no history holds");
    let key = format!("refund-{}", payment.uid);
    let result = gateway
        .cancel_payment(CancelPayment {
            uid: &payment.uid,
            amount: None,
            reason,
            refund_account: None,
            idempotency_key: Some(&key),
            balance: Some(payment.balance()),
        })
        .await;
    match result {
        Ok(_) => true,
        Err(error) => {
            tracing::error!(uid = %payment.uid, %error, reason, "could not refund a payment");
            false
        }
    }
}
