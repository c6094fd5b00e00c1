//! Playing the customer without raw JSON: what a shopper does at the checkout, as typed
//! methods on [`FakeIamport`] (the same names as on every fake). Each goes through the
//! same rules (and sends the same webhooks) as the HTTP call it stands for.

use fake_harness::FakeError;
use serde_json::Value;

use crate::FakeIamport;
use crate::fields::Body;
use crate::server::refused;

/// The card [`FakeIamport::pay_by_card`] pays with: approved, expiring 2030-12.
pub const TEST_CARD: &str = "4111-1111-2222-3333";

impl FakeIamport {
    /// The customer pays `amount` won for `merchant_uid` by card ([`TEST_CARD`]) in one
    /// go: the payment is `paid` and its webhook is sent. Same as
    /// `POST /subscribe/payments/onetime`. Returns the payment object (`imp_uid`, ...).
    ///
    /// # Errors
    /// [`FakeError::Refused`] as the endpoint refuses: a bad amount (`400`), a
    /// `merchant_uid` already paid (`200`, code `-1`).
    pub fn pay_by_card(&self, merchant_uid: &str, amount: i64) -> Result<Value, FakeError> {
        let body = Body::from_pairs([
            ("merchant_uid", merchant_uid.to_owned()),
            ("amount", amount.to_string()),
            ("name", "order".to_owned()),
            ("card_number", TEST_CARD.to_owned()),
            ("expiry", "2030-12".to_owned()),
            ("birth", "900101".to_owned()),
            ("pwd_2digit", "12".to_owned()),
        ]);
        let now = self.now().timestamp();
        crate::charges::onetime(&mut self.shared().lock_state(), &body, now).map_err(refused)
    }

    /// The customer asks for a virtual account (KB국민은행, due in 7 days by the fake's
    /// clock) to pay `amount` won for `merchant_uid`: the payment is `ready`. Same as
    /// `POST /vbanks`. Follow with [`FakeIamport::deposit`] for the deposit.
    ///
    /// # Errors
    /// [`FakeError::Refused`] as the endpoint refuses (bad amount, `merchant_uid` used).
    pub fn issue_virtual_account(
        &self,
        merchant_uid: &str,
        amount: i64,
    ) -> Result<Value, FakeError> {
        let now = self.now().timestamp();
        let body = Body::from_pairs([
            ("merchant_uid", merchant_uid.to_owned()),
            ("amount", amount.to_string()),
            ("name", "order".to_owned()),
            ("vbank_code", "004".to_owned()),
            ("vbank_due", (now + 7 * 86_400).to_string()),
            ("vbank_holder", "customer".to_owned()),
        ]);
        crate::vbanks::issue(&mut self.shared().lock_state(), &body, now).map_err(refused)
    }
}
