//! Everything the fake remembers, behind one lock: each request runs start to end
//! while holding it, so concurrent requests (and idempotent retries) are serialised
//! and a charge happens at most once.

use std::collections::HashMap;

use std::sync::Arc;

use fake_harness::{Harness, Retention};
use rand::Rng;

use crate::model::{Certification, Customer, Payment, Receipt, Token};
use crate::webhooks::WebhookPayload;

/// The fake's data.
#[derive(Debug)]
pub(crate) struct State {
    /// Accepted `(imp_key, imp_secret)` pairs.
    pub(crate) credentials: Vec<(String, String)>,
    /// Issued tokens by value.
    pub(crate) tokens: HashMap<String, Token>,
    /// The current token of each `imp_key`.
    pub(crate) token_by_key: HashMap<String, String>,
    /// Payments by `imp_uid`.
    pub(crate) payments: HashMap<String, Payment>,
    /// Saved cards (billing keys) by `customer_uid`.
    pub(crate) customers: HashMap<String, Customer>,
    /// Cash receipts by the payment's `imp_uid`.
    pub(crate) receipts: HashMap<String, Receipt>,
    /// Certifications by `imp_uid`.
    pub(crate) certifications: HashMap<String, Certification>,
    /// Card numbers (digits) declined by the test, with their message.
    pub(crate) custom_declines: HashMap<String, String>,
    /// Send webhooks form-encoded instead of JSON.
    pub(crate) form_encoded: bool,
    /// Creation counter, so "latest payment of a merchant_uid" is well defined.
    seq: u64,
    /// Which payments to forget under the `capacity` / `record_ttl` knobs.
    retention: Retention<String>,
    /// `GET /payments/{imp_uid}` answers already serialised, by `imp_uid`; dropped
    /// whenever the state may change (see [`crate::payments::get_rendered`]).
    rendered: HashMap<String, Vec<u8>>,
    harness: Arc<Harness>,
}

impl State {
    /// An empty store that sends status changes through `harness`.
    pub(crate) fn new(
        credentials: Vec<(String, String)>,
        form_encoded: bool,
        harness: Arc<Harness>,
    ) -> Self {
        Self {
            credentials,
            tokens: HashMap::new(),
            token_by_key: HashMap::new(),
            payments: HashMap::new(),
            customers: HashMap::new(),
            receipts: HashMap::new(),
            certifications: HashMap::new(),
            custom_declines: HashMap::new(),
            form_encoded,
            seq: 0,
            retention: Retention::new(harness.config()),
            rendered: HashMap::new(),
            harness,
        }
    }

    /// Whether samchon's fake's behaviour is reproduced (see the README's table).
    pub(crate) fn samchon(&self) -> bool {
        self.harness.config().compat_mode() == fake_harness::Compat::Samchon
    }

    /// Stores a new payment, forgetting the payments the retention knobs no longer keep.
    pub(crate) fn add_payment(&mut self, payment: Payment) {
        let imp_uid = payment.imp_uid.clone();
        self.payments.insert(imp_uid.clone(), payment);
        let now = self.harness.clock().now();
        for gone in self.retention.insert(imp_uid, now) {
            self.forget(&gone);
        }
    }

    /// Forgets the payments past their `record_ttl`; [`crate::shared::Shared::lock_state`]
    /// runs it before every use, so a lookup of an expired payment answers not-found.
    pub(crate) fn expire(&mut self) {
        let now = self.harness.clock().now();
        for gone in self.retention.expired(now) {
            self.forget(&gone);
        }
    }

    /// The serialised answer to `GET /payments/{imp_uid}` kept by
    /// [`Self::keep_rendered`], unless the state may have changed since.
    pub(crate) fn rendered(&self, imp_uid: &str) -> Option<&[u8]> {
        self.rendered.get(imp_uid).map(Vec::as_slice)
    }

    /// Keeps the serialised answer to `GET /payments/{imp_uid}` until the state may
    /// change ([`Self::forget_rendered`]).
    pub(crate) fn keep_rendered(&mut self, imp_uid: &str, body: Vec<u8>) {
        self.rendered.insert(imp_uid.to_owned(), body);
    }

    /// Drops the rendered lookups: called by every holder of the lock that may change
    /// the state ([`crate::shared::Shared::lock_state`]) and whenever a payment is
    /// forgotten, so a lookup never answers a state that is gone.
    pub(crate) fn forget_rendered(&mut self) {
        // `clear` walks the whole table even when it is empty.
        if !self.rendered.is_empty() {
            self.rendered.clear();
        }
    }

    /// Removes a payment with its cash receipt, so nothing dangles.
    fn forget(&mut self, imp_uid: &str) {
        self.rendered.remove(imp_uid);
        self.payments.remove(imp_uid);
        self.receipts.remove(imp_uid);
    }

    /// The next creation number.
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A fresh `imp_` + 12 digits id unused by payments and certifications.
    pub(crate) fn new_imp_uid(&self) -> String {
        let mut rng = rand::thread_rng();
        loop {
            let id = format!("imp_{}", random_digits(&mut rng, 12));
            if !self.payments.contains_key(&id) && !self.certifications.contains_key(&id) {
                return id;
            }
        }
    }

    /// Queues the webhook for `payment`'s current status: to its `notice_url`, else to
    /// the configured URL. Called under the state lock, so events keep state-change order.
    pub(crate) fn emit(&self, payment: &Payment) {
        let payload = WebhookPayload {
            imp_uid: payment.imp_uid.clone(),
            merchant_uid: payment.merchant_uid.clone(),
            status: payment.status.as_str().to_owned(),
        };
        self.harness
            .send_webhook(payload.event(payment.notice_url.clone(), self.form_encoded));
    }

    /// The most recent payment with `merchant_uid`, optionally only in `status`.
    pub(crate) fn latest_by_merchant_uid(
        &self,
        merchant_uid: &str,
        status: Option<&str>,
    ) -> Option<&Payment> {
        self.payments
            .values()
            .filter(|p| p.merchant_uid == merchant_uid)
            .filter(|p| status.is_none_or(|s| p.status.as_str() == s))
            .max_by_key(|p| p.seq)
    }
}

/// `n` random decimal digits.
pub(crate) fn random_digits(rng: &mut impl Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

/// `n` random lowercase hex digits.
pub(crate) fn random_hex(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| {
            let v = rng.gen_range(0..16u32);
            char::from_digit(v, 16).unwrap_or('0')
        })
        .collect()
}
