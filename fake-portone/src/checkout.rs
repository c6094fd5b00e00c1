//! [`Checkout`]: what a customer does in PortOne's payment window, for tests that play the
//! customer (`POST /internal/payments/{paymentId}/checkout`,
//! [`crate::FakePortOne::checkout`]).

use serde::{Deserialize, Serialize};

/// How the customer pays in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckoutMethod {
    /// A card: the payment is `PAID` (or `FAILED` when the card is declined).
    #[serde(rename = "card")]
    Card,
    /// A virtual account is issued: the payment is `VIRTUAL_ACCOUNT_ISSUED` until
    /// [`crate::FakePortOne::deposit`].
    #[serde(rename = "virtual-account")]
    VirtualAccount,
    /// An easy-pay wallet (KakaoPay): `PAID`.
    #[serde(rename = "easy-pay")]
    EasyPay,
}

/// The amount the window charges: a plain number, or with its tax-free and VAT parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CheckoutAmount {
    /// The total only (no tax-free part; VAT one eleventh).
    Total(i64),
    /// `{total, taxFree?, vat?}`.
    Parts {
        /// The total.
        total: i64,
        /// The tax-free part.
        #[serde(default, rename = "taxFree", skip_serializing_if = "Option::is_none")]
        tax_free: Option<i64>,
        /// The VAT (default one eleventh of the taxable part).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vat: Option<i64>,
    },
}

/// The card the customer types in (default: an approved test card).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutCard {
    /// 13–19 digits; see [`crate::DECLINED_CARDS`] for numbers that are declined.
    pub number: String,
    /// `MM/YY`.
    pub expiry: String,
}

/// A failure the PG reports instead of approving (the payment becomes `FAILED`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PgFailure {
    /// The PG's code.
    pub pg_code: String,
    /// The PG's message.
    pub pg_message: String,
}

/// The customer in the window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutCustomer {
    /// The merchant's id for the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// One completed payment window: the body of `POST /internal/payments/{paymentId}/checkout`.
///
/// ```
/// use fake_portone::Checkout;
/// let c = Checkout::card("coffee", 4_500).card_number("4000000000000002");
/// assert_eq!(c.card.unwrap().number, "4000000000000002");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkout {
    /// The store (default: the caller's only store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// How the customer pays.
    pub method: CheckoutMethod,
    /// What the window charges.
    pub amount: CheckoutAmount,
    /// The order's name.
    pub order_name: String,
    /// The channel (default: the first configured, or any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_key: Option<String>,
    /// The customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CheckoutCustomer>,
    /// The card typed in, for [`CheckoutMethod::Card`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CheckoutCard>,
    /// Makes the PG refuse the payment with this code and message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<PgFailure>,
    /// Where this payment's webhooks go instead of the store's URL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notice_urls: Vec<String>,
    /// Free text kept on the payment (`customData`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<String>,
}

/// The card a checkout uses unless told otherwise (approved, expires 12/39).
pub const TEST_CARD: &str = "4330123412341234";

impl Checkout {
    fn new(method: CheckoutMethod, order_name: &str, total: i64) -> Self {
        Self {
            store_id: None,
            method,
            amount: CheckoutAmount::Total(total),
            order_name: order_name.to_owned(),
            channel_key: None,
            customer: None,
            card: None,
            fail: None,
            notice_urls: Vec::new(),
            custom_data: None,
        }
    }

    /// A card payment of `total` with the approved [`TEST_CARD`].
    pub fn card(order_name: &str, total: i64) -> Self {
        Self::new(CheckoutMethod::Card, order_name, total)
    }

    /// A virtual-account payment of `total`.
    pub fn virtual_account(order_name: &str, total: i64) -> Self {
        Self::new(CheckoutMethod::VirtualAccount, order_name, total)
    }

    /// An easy-pay payment of `total`.
    pub fn easy_pay(order_name: &str, total: i64) -> Self {
        Self::new(CheckoutMethod::EasyPay, order_name, total)
    }

    /// Pays with card `number` (expiry 12/39).
    #[must_use]
    pub fn card_number(mut self, number: &str) -> Self {
        self.card = Some(CheckoutCard {
            number: number.to_owned(),
            expiry: "12/39".to_owned(),
        });
        self
    }

    /// Sets the tax-free part of the amount.
    #[must_use]
    pub fn tax_free(mut self, tax_free: i64) -> Self {
        let (total, vat) = match self.amount {
            CheckoutAmount::Total(t) => (t, None),
            CheckoutAmount::Parts { total, vat, .. } => (total, vat),
        };
        self.amount = CheckoutAmount::Parts {
            total,
            tax_free: Some(tax_free),
            vat,
        };
        self
    }

    /// Pays in store `store_id`.
    #[must_use]
    pub fn store_id(mut self, store_id: &str) -> Self {
        self.store_id = Some(store_id.to_owned());
        self
    }

    /// Uses channel `key`.
    #[must_use]
    pub fn channel_key(mut self, key: &str) -> Self {
        self.channel_key = Some(key.to_owned());
        self
    }

    /// Makes the PG refuse with `pg_code` and `pg_message`.
    #[must_use]
    pub fn fail(mut self, pg_code: &str, pg_message: &str) -> Self {
        self.fail = Some(PgFailure {
            pg_code: pg_code.to_owned(),
            pg_message: pg_message.to_owned(),
        });
        self
    }

    /// Sends this payment's webhooks to `url` (repeat for more).
    #[must_use]
    pub fn notice_url(mut self, url: &str) -> Self {
        self.notice_urls.push(url.to_owned());
        self
    }

    /// Sets the customer's name.
    #[must_use]
    pub fn customer_name(mut self, name: &str) -> Self {
        self.customer
            .get_or_insert_with(CheckoutCustomer::default)
            .name = Some(name.to_owned());
        self
    }
}
