//! [`Credentialed`]: a store's adapter that, when its PG refuses the server's
//! credentials, says which store and which configuration key to fix — an operator reads
//! `toss store "main" …; check vendors.toss[store_id = "main"].secret_key`, not a bare
//! "unauthorized".

use async_trait::async_trait;
use payments_core::money::Money;
use payments_core::records::VendorCode;
use payments_core::vendor::{
    BillingCharge, CancelPayment, GatewayError, PaymentGateway, VendorBillingKey, VendorPayment,
};
use std::sync::Arc;

/// An adapter and where its credentials come from.
pub struct Credentialed {
    inner: Arc<dyn PaymentGateway>,
    store_id: String,
    setting: Option<String>,
}

impl Credentialed {
    /// Wraps `inner`, the adapter of `store_id`; `setting` names the configuration keys
    /// that hold its credentials (`None` for an adapter the embedder built itself).
    pub fn new(inner: Arc<dyn PaymentGateway>, store_id: &str, setting: Option<String>) -> Self {
        Self {
            inner,
            store_id: store_id.to_owned(),
            setting,
        }
    }

    fn name<T>(&self, result: Result<T, GatewayError>) -> Result<T, GatewayError> {
        result.map_err(|error| match error {
            GatewayError::Unauthorized(detail) => {
                let mut named = format!(
                    "{} store {:?} refused the server's credentials ({detail})",
                    self.inner.vendor(),
                    self.store_id
                );
                if let Some(setting) = &self.setting {
                    named.push_str("; check ");
                    named.push_str(setting);
                }
                GatewayError::Unauthorized(named)
            }
            other => other,
        })
    }
}

/// The configuration keys of a configured store's credentials, as an operator writes
/// them.
pub fn setting(vendor: &str, store_id: &str, keys: &str) -> String {
    format!("vendors.{vendor}[store_id = {store_id:?}].{keys}")
}

#[async_trait]
impl PaymentGateway for Credentialed {
    fn vendor(&self) -> VendorCode {
        self.inner.vendor()
    }

    async fn lookup_payment(&self, uid: &str) -> Result<VendorPayment, GatewayError> {
        self.name(self.inner.lookup_payment(uid).await)
    }

    async fn lookup_payment_by_order(&self, order_id: &str) -> Result<VendorPayment, GatewayError> {
        self.name(self.inner.lookup_payment_by_order(order_id).await)
    }

    async fn confirm_payment(
        &self,
        uid: &str,
        order_id: &str,
        amount: Money,
    ) -> Result<VendorPayment, GatewayError> {
        self.name(self.inner.confirm_payment(uid, order_id, amount).await)
    }

    async fn cancel_payment(
        &self,
        cancel: CancelPayment<'_>,
    ) -> Result<VendorPayment, GatewayError> {
        self.name(self.inner.cancel_payment(cancel).await)
    }

    async fn lookup_billing_key(
        &self,
        uid: &str,
        customer_key: &str,
    ) -> Result<VendorBillingKey, GatewayError> {
        self.name(self.inner.lookup_billing_key(uid, customer_key).await)
    }

    async fn charge_billing_key(
        &self,
        charge: BillingCharge<'_>,
    ) -> Result<VendorPayment, GatewayError> {
        self.name(self.inner.charge_billing_key(charge).await)
    }

    async fn lookup_certification(&self, uid: &str) -> Result<serde_json::Value, GatewayError> {
        self.name(self.inner.lookup_certification(uid).await)
    }
}
