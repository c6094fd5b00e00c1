//! Playing the customer without raw JSON: what a shopper does at the checkout, as typed
//! methods on [`FakeToss`]. Each goes through the same rules (and sends the same
//! webhooks) as the HTTP call it stands for.

use fake_harness::FakeError;
use serde_json::Value;

use crate::FakeToss;
use crate::payments::KeyIn;
use crate::server::refused;
use crate::virtual_accounts::VirtualAccountReq;

/// The card [`FakeToss::pay_by_card`] pays with: approved, expiring in 2039.
pub const TEST_CARD: &str = "4330123412341234";

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

impl FakeToss {
    /// The customer pays `amount` KRW for `order_id` by card ([`TEST_CARD`]): the payment
    /// is `DONE` and its `PAYMENT_STATUS_CHANGED` webhook is sent. Same as
    /// `POST /v1/payments/key-in`. Returns the payment object (`paymentKey`, `status`, ...).
    ///
    /// # Errors
    /// [`FakeError::Refused`] as the endpoint refuses: a bad order id or amount (`400`),
    /// an order id already paid (`400 DUPLICATED_ORDER_ID`).
    pub fn pay_by_card(&self, order_id: &str, amount: i64) -> Result<Value, FakeError> {
        let req = KeyIn {
            method: Some("card".into()),
            card_number: TEST_CARD.into(),
            card_expiration_year: "39".into(),
            card_expiration_month: "12".into(),
            card_installment_plan: None,
            amount: amount as f64,
            tax_free_amount: None,
            order_id: order_id.into(),
            order_name: Some("order".into()),
            approved: None,
        };
        let bytes = self
            .shared()
            .with_store(|st, now| st.key_in(req, now))
            .map_err(refused)?;
        Ok(json(&bytes))
    }

    /// The customer asks for a virtual account (우리은행, valid 7 days) to pay `amount` KRW
    /// for `order_id`: the payment is `WAITING_FOR_DEPOSIT`. Same as
    /// `POST /v1/virtual-accounts`. Follow with [`FakeToss::deposit`] for the deposit.
    ///
    /// # Errors
    /// [`FakeError::Refused`] as the endpoint refuses (bad order id or amount, order id
    /// already used).
    pub fn issue_virtual_account(&self, order_id: &str, amount: i64) -> Result<Value, FakeError> {
        let req = VirtualAccountReq {
            method: Some("virtual-account".into()),
            order_id: order_id.into(),
            order_name: "order".into(),
            bank: "20".into(),
            customer_name: "customer".into(),
            amount: amount as f64,
            tax_free_amount: None,
            valid_hours: None,
            due_date: None,
            approved: None,
        };
        let bytes = self
            .shared()
            .with_store(|st, now| st.issue_virtual_account(req, now))
            .map_err(refused)?;
        Ok(json(&bytes))
    }
}
