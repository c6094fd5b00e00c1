//! [`World`]: everything one fake holds — merchants and their stores, API secrets and
//! tokens, channels, declined cards, payments, billing keys, schedules, identity
//! verifications — and the webhook messages its changes produce (the outbox the server
//! drains after each call).
//!
//! The operations live in the submodules, one per resource; each takes the fake's `now`
//! so that nothing here reads a clock.

mod billing;
mod identity;
mod payments;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use fake_harness::Retention;
use serde_json::{Value, json};

use crate::billing_key::BillingKey;
use crate::cards::{DECLINED_CARDS, Decline};
use crate::error::{ErrorKind, PortOneError};
use crate::identity::Verification;
use crate::ids::new_id;
use crate::payment::{Payment, SentWebhook};
use crate::requests::PageInput;
use crate::schedule::Schedule;
use crate::settings::StoreSettings;
use crate::webhook::{self, Subject, WebhookVersion};

pub(crate) use payments::PreRegistration;

/// How long an access token from `/login/api-secret` or `/token/refresh` is valid.
pub(crate) const ACCESS_TOKEN_TTL: chrono::Duration = chrono::Duration::minutes(30);
/// How long a refresh token is valid.
pub(crate) const REFRESH_TOKEN_TTL: chrono::Duration = chrono::Duration::days(1);

/// A merchant (고객사): one API secret reaching one or more stores.
#[derive(Debug, Clone)]
pub(crate) struct Merchant {
    pub id: String,
    pub api_secret: String,
    pub stores: Vec<String>,
}

/// A store's webhook settings, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pub merchant: usize,
    pub webhook_url: Option<String>,
    pub webhook_secret: String,
    pub webhook_version: WebhookVersion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug, Clone)]
struct Token {
    merchant: usize,
    kind: TokenKind,
    expires_at: DateTime<Utc>,
}

/// Who is calling: the merchant whose secret or token the request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caller(usize);

/// One webhook message to send (to `url`, or the fake's webhook URL when `None`).
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    /// The `webhook-id`: the same for every attempt of this message.
    pub id: String,
    pub event_type: String,
    pub url: Option<String>,
    pub body: Value,
    /// The store's `whsec_…` secret.
    pub secret: String,
}

/// The fake's whole state.
#[derive(Debug)]
pub(crate) struct World {
    merchants: Vec<Merchant>,
    stores: HashMap<String, Store>,
    tokens: HashMap<String, Token>,
    channels: Option<Vec<String>>,
    declines: HashMap<String, Decline>,
    payments: HashMap<(String, String), Payment>,
    pre_registered: HashMap<(String, String), PreRegistration>,
    billing_keys: HashMap<String, BillingKey>,
    schedules: HashMap<String, Schedule>,
    verifications: HashMap<(String, String), Verification>,
    outbox: Vec<Outgoing>,
    /// The fake's webhook URL (the harness's setting), for the `url` of `webhooks[]`
    /// when a message goes to it.
    fallback_url: Option<String>,
    seq: u64,
    /// Which payments to forget under the `capacity` / `record_ttl` knobs.
    retention: Retention<(String, String)>,
}

impl World {
    /// A world with `first` (reached by `api_secret`) and `more` stores, and `channels`
    /// (any channel key is accepted when `None`).
    ///
    /// # Errors
    /// A message when a store id repeats, a store's webhook secret is not `whsec_` + base64,
    /// or two merchants share an API secret.
    pub fn new(
        api_secret: &str,
        first: StoreSettings,
        more: Vec<StoreSettings>,
        channels: Option<Vec<String>>,
    ) -> Result<Self, String> {
        let mut w = Self {
            merchants: vec![Merchant {
                id: new_id("merchant-"),
                api_secret: api_secret.to_owned(),
                stores: Vec::new(),
            }],
            stores: HashMap::new(),
            tokens: HashMap::new(),
            channels,
            declines: DECLINED_CARDS
                .iter()
                .map(|c| (c.number.to_owned(), Decline::new(c.pg_code, c.pg_message)))
                .collect(),
            payments: HashMap::new(),
            pre_registered: HashMap::new(),
            billing_keys: HashMap::new(),
            schedules: HashMap::new(),
            verifications: HashMap::new(),
            outbox: Vec::new(),
            fallback_url: None,
            seq: 0,
            retention: Retention::default(),
        };
        for s in std::iter::once(first).chain(more) {
            if w.stores.contains_key(&s.id) {
                return Err(format!("store id {:?} is configured twice", s.id));
            }
            let merchant = match &s.api_secret {
                None => 0,
                Some(secret) => {
                    if let Some(i) = w.merchants.iter().position(|m| &m.api_secret == secret) {
                        if i == 0 {
                            return Err(format!(
                                "store {:?} has the first store's API secret; leave it unset to share the merchant",
                                s.id
                            ));
                        }
                        i
                    } else {
                        w.merchants.push(Merchant {
                            id: new_id("merchant-"),
                            api_secret: secret.clone(),
                            stores: Vec::new(),
                        });
                        w.merchants.len() - 1
                    }
                }
            };
            let secret = s
                .webhook_secret
                .clone()
                .unwrap_or_else(webhook::random_secret);
            webhook::secret_key(&secret).map_err(|e| format!("store {:?}: {e}", s.id))?;
            w.merchants[merchant].stores.push(s.id.clone());
            w.stores.insert(
                s.id.clone(),
                Store {
                    merchant,
                    webhook_url: s.webhook_url,
                    webhook_secret: secret,
                    webhook_version: s.webhook_version,
                },
            );
        }
        Ok(w)
    }

    /// Bounds the payments kept by the harness's `capacity` and `record_ttl`.
    #[must_use]
    pub fn with_retention(mut self, retention: Retention<(String, String)>) -> Self {
        self.retention = retention;
        self
    }

    /// Forgets the payments past their `record_ttl`; the server runs it before every
    /// operation, so a lookup of an expired payment answers `PAYMENT_NOT_FOUND`.
    pub fn expire(&mut self, now: DateTime<Utc>) {
        for gone in self.retention.expired(now) {
            self.forget(&gone);
        }
    }

    /// Notes a new payment `(store, paymentId)` and forgets those the knobs no longer keep.
    fn retain(&mut self, key: &(String, String), now: DateTime<Utc>) {
        for gone in self.retention.insert(key.clone(), now) {
            self.forget(&gone);
        }
    }

    /// Removes a payment with its pre-registration, so nothing dangles.
    fn forget(&mut self, key: &(String, String)) {
        self.payments.remove(key);
        self.pre_registered.remove(key);
    }

    /// The next creation sequence number (list order).
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A store's settings.
    pub fn store(&self, id: &str) -> Option<&Store> {
        self.stores.get(id)
    }

    /// Sets where messages without a URL of their own go (the fake's webhook URL).
    pub fn set_fallback_url(&mut self, url: Option<String>) {
        self.fallback_url = url;
    }

    /// Takes the webhook messages produced since the last call.
    pub fn drain_outbox(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.outbox)
    }

    // ---- auth ------------------------------------------------------------------------

    /// Checks the `Authorization` header: `PortOne <API secret>` or `Bearer <token>`.
    ///
    /// # Errors
    /// `401 UNAUTHORIZED` when it is missing, malformed, unknown or expired.
    pub fn authenticate(
        &self,
        header: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Caller, PortOneError> {
        let unauthorized = |m: &str| PortOneError::new(ErrorKind::Unauthorized, m);
        let header = header.ok_or_else(|| {
            unauthorized(
                "the Authorization header is missing (PortOne <API secret> or Bearer <token>)",
            )
        })?;
        let (scheme, value) = header.split_once(' ').ok_or_else(|| {
            unauthorized(
                "the Authorization header must be `PortOne <API secret>` or `Bearer <token>`",
            )
        })?;
        let value = value.trim();
        if scheme.eq_ignore_ascii_case("PortOne") {
            return self
                .merchants
                .iter()
                .position(|m| m.api_secret == value)
                .map(Caller)
                .ok_or_else(|| unauthorized("the API secret is not valid"));
        }
        if scheme.eq_ignore_ascii_case("Bearer") {
            let token = self
                .tokens
                .get(value)
                .filter(|t| t.kind == TokenKind::Access)
                .ok_or_else(|| unauthorized("the access token is not valid"))?;
            if now >= token.expires_at {
                return Err(unauthorized("the access token has expired; refresh it"));
            }
            return Ok(Caller(token.merchant));
        }
        Err(unauthorized(
            "the Authorization scheme must be `PortOne` or `Bearer`",
        ))
    }

    /// The store a call acts on: the named one, or the caller's only store.
    ///
    /// # Errors
    /// `403 FORBIDDEN` when the caller does not reach the named store; `400
    /// INVALID_REQUEST` when none is named and the caller has several.
    pub fn store_of(&self, caller: Caller, named: Option<&str>) -> Result<String, PortOneError> {
        let m = &self.merchants[caller.0];
        match named {
            Some(id) if m.stores.iter().any(|s| s == id) => Ok(id.to_owned()),
            Some(id) => Err(PortOneError::new(
                ErrorKind::Forbidden,
                format!("the credentials have no access to store {id:?}"),
            )),
            None if m.stores.len() == 1 => Ok(m.stores[0].clone()),
            None => Err(PortOneError::invalid(
                "storeId is required: these credentials reach several stores",
            )),
        }
    }

    /// The stores a list call covers: the named one, or all the caller's.
    ///
    /// # Errors
    /// `403 FORBIDDEN` when the caller does not reach the named store.
    pub fn stores_of(
        &self,
        caller: Caller,
        named: Option<&str>,
    ) -> Result<Vec<String>, PortOneError> {
        match named {
            Some(_) => Ok(vec![self.store_of(caller, named)?]),
            None => Ok(self.merchants[caller.0].stores.clone()),
        }
    }

    /// The merchant id of a store.
    fn merchant_id(&self, store_id: &str) -> String {
        let m = self.stores.get(store_id).map_or(0, |s| s.merchant);
        self.merchants[m].id.clone()
    }

    /// `POST /login/api-secret`: an access and a refresh token for an API secret.
    ///
    /// # Errors
    /// `401 UNAUTHORIZED` for an unknown secret.
    pub fn login(&mut self, api_secret: &str, now: DateTime<Utc>) -> Result<Value, PortOneError> {
        let merchant = self
            .merchants
            .iter()
            .position(|m| m.api_secret == api_secret)
            .ok_or_else(|| {
                PortOneError::new(ErrorKind::Unauthorized, "the API secret is not valid")
            })?;
        Ok(self.issue_tokens(merchant, now))
    }

    /// `POST /token/refresh`: new tokens for a refresh token (which is used up).
    ///
    /// # Errors
    /// `401 UNAUTHORIZED` for an unknown, used or expired refresh token.
    pub fn refresh(&mut self, refresh: &str, now: DateTime<Utc>) -> Result<Value, PortOneError> {
        let unauthorized = |m: &str| PortOneError::new(ErrorKind::Unauthorized, m);
        let token = self
            .tokens
            .get(refresh)
            .filter(|t| t.kind == TokenKind::Refresh)
            .cloned()
            .ok_or_else(|| unauthorized("the refresh token is not valid"))?;
        self.tokens.remove(refresh);
        if now >= token.expires_at {
            return Err(unauthorized("the refresh token has expired; log in again"));
        }
        Ok(self.issue_tokens(token.merchant, now))
    }

    fn issue_tokens(&mut self, merchant: usize, now: DateTime<Utc>) -> Value {
        // Forget expired tokens so a long-running binary does not grow without bound.
        self.tokens.retain(|_, t| t.expires_at > now);
        let access = new_id("fake-access-");
        let refresh = new_id("fake-refresh-");
        self.tokens.insert(
            access.clone(),
            Token {
                merchant,
                kind: TokenKind::Access,
                expires_at: now + ACCESS_TOKEN_TTL,
            },
        );
        self.tokens.insert(
            refresh.clone(),
            Token {
                merchant,
                kind: TokenKind::Refresh,
                expires_at: now + REFRESH_TOKEN_TTL,
            },
        );
        json!({ "accessToken": access, "refreshToken": refresh })
    }

    // ---- channels and cards ----------------------------------------------------------

    /// The `SelectedChannel` for `key`: any key unless the fake has a channel list.
    ///
    /// # Errors
    /// `404 CHANNEL_NOT_FOUND` for a key outside the configured list.
    pub fn channel(&self, key: Option<&str>) -> Result<Value, PortOneError> {
        let key = match (&self.channels, key) {
            (Some(list), Some(k)) if !list.iter().any(|c| c == k) => {
                return Err(PortOneError::new(
                    ErrorKind::ChannelNotFound,
                    format!("no channel with channelKey {k:?}"),
                ));
            }
            (_, Some(k)) => k.to_owned(),
            (Some(list), None) => list
                .first()
                .cloned()
                .unwrap_or_else(|| "channel-key-fake".to_owned()),
            (None, None) => "channel-key-fake".to_owned(),
        };
        Ok(json!({
            "type": "TEST",
            "id": format!("channel-id-{key}"),
            "key": key,
            "name": "fake-portone test channel",
            "pgProvider": "TOSSPAYMENTS",
            "pgMerchantId": "tosstest",
        }))
    }

    /// Declines `number` with the PG's `pg_code` and `pg_message` from now on.
    pub fn decline_card(&mut self, number: &str, pg_code: &str, pg_message: &str) {
        self.declines
            .insert(number.to_owned(), Decline::new(pg_code, pg_message));
    }

    /// The refusal for a card, if it is declined or expired at `now`.
    fn refusal(&self, card: &crate::cards::Card, now: DateTime<Utc>) -> Option<Decline> {
        if let Some(d) = self.declines.get(&card.number) {
            return Some(d.clone());
        }
        card.is_expired(now).then(|| {
            Decline::new(
                "INVALID_CARD_EXPIRATION",
                "카드 정보를 다시 확인해주세요. (유효기간)",
            )
        })
    }

    // ---- webhooks --------------------------------------------------------------------

    /// Queues `event_type` about `subject` of `store_id` to `notice_urls` (or the store's
    /// URL), in the store's version; returns what was queued, for the payment's
    /// `webhooks[]`.
    fn emit(
        &mut self,
        store_id: &str,
        notice_urls: &[String],
        event_type: &str,
        subject: &Subject,
        now: DateTime<Utc>,
    ) -> Vec<Outgoing> {
        let Some(store) = self.stores.get(store_id) else {
            return Vec::new();
        };
        let Some(body) = webhook::body(store.webhook_version, event_type, now, store_id, subject)
        else {
            return Vec::new();
        };
        let urls: Vec<Option<String>> = if notice_urls.is_empty() {
            vec![store.webhook_url.clone()]
        } else {
            notice_urls.iter().cloned().map(Some).collect()
        };
        let sent: Vec<Outgoing> = urls
            .into_iter()
            .map(|url| Outgoing {
                id: new_id("msg_"),
                event_type: event_type.to_owned(),
                url,
                body: body.clone(),
                secret: store.webhook_secret.clone(),
            })
            .collect();
        self.outbox.extend(sent.iter().cloned());
        sent
    }

    /// Queues a payment's event and notes it in the payment's `webhooks[]`.
    fn emit_payment(
        &mut self,
        key: &(String, String),
        cancellation_id: Option<String>,
        now: DateTime<Utc>,
    ) {
        let Some(p) = self.payments.get(key) else {
            return;
        };
        let subject = Subject::Payment {
            payment_id: p.id.clone(),
            transaction_id: p.transaction_id.clone(),
            cancellation_id,
        };
        let (urls, status) = (p.notice_urls.clone(), p.status);
        let sent = self.emit(&key.0, &urls, status.event_type(), &subject, now);
        let fallback = self.fallback_url.clone();
        if let Ok(p) = self.payment_mut(key) {
            p.webhooks.extend(sent.into_iter().map(|o| SentWebhook {
                id: o.id,
                event_type: o.event_type,
                url: o.url.or_else(|| fallback.clone()).unwrap_or_default(),
                payment_status: status,
                triggered_at: now,
                manual: false,
                body: o.body,
            }));
        }
    }
}

/// One page of `items` (PortOne pages count from 0; the default size is 10).
///
/// # Errors
/// `400 INVALID_REQUEST` for a negative page number or a size outside 1..=1000.
pub(crate) fn page(items: Vec<Value>, page: PageInput) -> Result<Value, PortOneError> {
    let number = page.number.unwrap_or(0);
    let size = page.size.unwrap_or(10);
    if number < 0 {
        return Err(PortOneError::invalid(format!(
            "page.number must not be negative, got {number}"
        )));
    }
    if !(1..=1000).contains(&size) {
        return Err(PortOneError::invalid(format!(
            "page.size must be between 1 and 1000, got {size}"
        )));
    }
    let total = items.len();
    let start = usize::try_from(number * size).unwrap_or(usize::MAX);
    let taken: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(usize::try_from(size).unwrap_or(10))
        .collect();
    Ok(json!({
        "items": taken,
        "page": { "number": number, "size": size, "totalCount": total },
    }))
}
