//! [`VendorData`]: reads a record's `data` (the PG's own object, verbatim) as a typed
//! struct, e.g. `payments_core::vendor`'s Toss or iamport payment.

use payments_core::records::{PaymentHistory, PaymentHistorySnapshot, PaymentReservation};
use serde::de::DeserializeOwned;

/// Records that carry the PG's own object in `data`.
pub trait VendorData {
    /// The raw `data`, the PG's object as the server stored it.
    ///
    /// ```
    /// use payments_client::VendorData;
    /// # let reservation: payments_client::records::PaymentReservation = serde_json::from_value(serde_json::json!({
    /// #     "id": "00000000-0000-0000-0000-000000000000", "vendor_code": "iamport",
    /// #     "vendor": {"code": "iamport", "store_id": "main", "uid": "c1"},
    /// #     "source": {"schema": "s", "table": "t", "id": "1"}, "title": "card",
    /// #     "data": {"customer_uid": "c1"}, "created_at": "2026-11-21T03:04:05.678Z"
    /// # })).unwrap();
    /// assert_eq!(reservation.data()["customer_uid"], "c1");
    /// ```
    fn data(&self) -> &serde_json::Value;

    /// Reads `data` as `T` (the vendor's payment or billing-key type).
    ///
    /// # Errors
    /// The `serde_json` error when `data` is not a `T` (e.g. reading an iamport
    /// payment as a Toss one).
    ///
    /// ```
    /// use payments_client::VendorData;
    /// # fn history() -> payments_client::records::PaymentHistory {
    /// #     serde_json::from_value(serde_json::json!({
    /// #         "id": "00000000-0000-0000-0000-000000000000", "vendor_code": "toss.payments",
    /// #         "vendor": {"code": "toss.payments", "store_id": "main", "uid": "pk"},
    /// #         "source": {"schema": "s", "table": "t", "id": "1"},
    /// #         "data": {"paymentKey": "pk", "orderId": "1", "totalAmount": 1000},
    /// #         "currency": "KRW", "price": 1000, "refund": null, "webhook_url": null,
    /// #         "created_at": "2026-11-21T03:04:05.678Z", "paid_at": null,
    /// #         "cancelled_at": null, "cancels": []
    /// #     })).unwrap()
    /// # }
    /// #[derive(serde::Deserialize)]
    /// #[serde(rename_all = "camelCase")]
    /// struct TossPayment { payment_key: String, total_amount: i64 }
    ///
    /// let payment: TossPayment = history().data_as()?;
    /// assert_eq!((payment.payment_key.as_str(), payment.total_amount), ("pk", 1000));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    fn data_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(self.data())
    }
}

impl VendorData for PaymentHistory {
    fn data(&self) -> &serde_json::Value {
        &self.data
    }
}

impl VendorData for PaymentHistorySnapshot {
    fn data(&self) -> &serde_json::Value {
        &self.data
    }
}

impl VendorData for PaymentReservation {
    fn data(&self) -> &serde_json::Value {
        &self.data
    }
}
