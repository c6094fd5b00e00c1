//! Billing keys (issue, read, list, delete) and payment schedules (create, read, list,
//! revoke, and running the ones that fell due).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::World;
use crate::billing_key::BillingKey;
use crate::cards::Card;
use crate::error::{ErrorKind, PortOneError};
use crate::ids::{new_id, ts};
use crate::payment::PaymentStatus;
use crate::requests::{
    CreateScheduleBody, GetBillingKeysBody, GetSchedulesBody, IssueBillingKeyBody,
    RevokeSchedulesBody,
};
use crate::schedule::{Schedule, ScheduleStatus};
use crate::webhook::Subject;

fn key_not_found(key: &str) -> PortOneError {
    PortOneError::new(
        ErrorKind::BillingKeyNotFound,
        format!("no billing key {key:?} in this store"),
    )
}

fn schedule_not_found(id: &str) -> PortOneError {
    PortOneError::new(
        ErrorKind::PaymentScheduleNotFound,
        format!("no payment schedule {id:?} in this store"),
    )
}

impl World {
    /// A billing key of `store_id`.
    ///
    /// # Errors
    /// `404 BILLING_KEY_NOT_FOUND` when the store has no such key.
    pub fn billing_key(&self, store_id: &str, key: &str) -> Result<&BillingKey, PortOneError> {
        self.billing_keys
            .get(key)
            .filter(|b| b.store_id == store_id)
            .ok_or_else(|| key_not_found(key))
    }

    /// A billing key that can still pay.
    ///
    /// # Errors
    /// `404 BILLING_KEY_NOT_FOUND`; `409 BILLING_KEY_ALREADY_DELETED`.
    pub(super) fn live_billing_key(
        &self,
        store_id: &str,
        key: &str,
    ) -> Result<&BillingKey, PortOneError> {
        let bk = self.billing_key(store_id, key)?;
        if bk.deleted_at.is_some() {
            return Err(PortOneError::new(
                ErrorKind::BillingKeyAlreadyDeleted,
                format!("billing key {key:?} was deleted"),
            ));
        }
        Ok(bk)
    }

    /// `POST /billing-keys`: saves a card.
    ///
    /// # Errors
    /// `400 INVALID_REQUEST` for a missing or malformed card; `404 CHANNEL_NOT_FOUND`;
    /// `502 PG_PROVIDER` for a declined or expired card (no key is issued).
    pub fn issue_billing_key(
        &mut self,
        store_id: &str,
        body: IssueBillingKeyBody,
        now: DateTime<Utc>,
    ) -> Result<Value, PortOneError> {
        let Some(card) = body.method.card else {
            return Err(PortOneError::invalid(
                "method.card is required (the fake issues card billing keys only)",
            ));
        };
        let c = &card.credential;
        let card = Card::parse(
            "method.card.credential",
            &c.number,
            &c.expiry_year,
            &c.expiry_month,
        )?;
        let channel = self.channel(body.channel_key.as_deref())?;
        if let Some(d) = self.refusal(&card, now) {
            return Err(d.error());
        }
        let seq = self.next_seq();
        let key = new_id("billing-key-");
        let customer = body
            .customer
            .as_ref()
            .map_or_else(|| json!({}), |c| c.render());
        let bk = BillingKey {
            seq,
            key: key.clone(),
            store_id: store_id.to_owned(),
            merchant_id: self.merchant_id(store_id),
            card,
            channel,
            customer,
            customer_id: body.customer.and_then(|c| c.id),
            custom_data: body.custom_data,
            notice_urls: body.notice_urls,
            issued_at: now,
            deleted_at: None,
        };
        let summary = bk.summary();
        let urls = bk.notice_urls.clone();
        self.billing_keys.insert(key.clone(), bk);
        if !body.skip_webhook {
            let subject = Subject::BillingKey { billing_key: key };
            self.emit(store_id, &urls, "BillingKey.Issued", &subject, now);
        }
        Ok(json!({ "billingKeyInfo": summary }))
    }

    /// `DELETE /billing-keys/{billingKey}`.
    ///
    /// # Errors
    /// `404 BILLING_KEY_NOT_FOUND`; `409 BILLING_KEY_ALREADY_DELETED`; `409
    /// PAYMENT_SCHEDULE_ALREADY_EXISTS` while a schedule on the key is pending (revoke it
    /// first).
    pub fn delete_billing_key(
        &mut self,
        store_id: &str,
        key: &str,
        skip_webhook: bool,
        now: DateTime<Utc>,
    ) -> Result<Value, PortOneError> {
        self.live_billing_key(store_id, key)?;
        if self
            .schedules
            .values()
            .any(|s| s.payment.billing_key == key && s.status == ScheduleStatus::Scheduled)
        {
            return Err(PortOneError::new(
                ErrorKind::PaymentScheduleAlreadyExists,
                format!("billing key {key:?} has pending payment schedules; revoke them first"),
            ));
        }
        let Some(bk) = self.billing_keys.get_mut(key) else {
            return Err(key_not_found(key));
        };
        bk.deleted_at = Some(now);
        let urls = bk.notice_urls.clone();
        if !skip_webhook {
            let subject = Subject::BillingKey {
                billing_key: key.to_owned(),
            };
            self.emit(store_id, &urls, "BillingKey.Deleted", &subject, now);
        }
        Ok(json!({ "deletedAt": ts(now) }))
    }

    /// `GET /billing-keys`: newest first.
    ///
    /// # Errors
    /// `400 INVALID_REQUEST` for a bad page.
    pub fn list_billing_keys(
        &self,
        stores: &[String],
        body: GetBillingKeysBody,
    ) -> Result<Value, PortOneError> {
        let f = &body.filter;
        let mut hits: Vec<&BillingKey> = self
            .billing_keys
            .values()
            .filter(|b| stores.contains(&b.store_id))
            .filter(|b| {
                let status = if b.deleted_at.is_some() {
                    "DELETED"
                } else {
                    "ISSUED"
                };
                f.status
                    .as_ref()
                    .is_none_or(|s| s.iter().any(|s| s == status))
            })
            .filter(|b| {
                f.customer_id
                    .as_ref()
                    .is_none_or(|c| b.customer_id.as_ref() == Some(c))
            })
            .collect();
        hits.sort_by_key(|b| std::cmp::Reverse(b.seq));
        super::page(
            hits.into_iter().map(BillingKey::render).collect(),
            body.page,
        )
    }

    /// `POST /payments/{paymentId}/schedule`.
    ///
    /// # Errors
    /// `404 BILLING_KEY_NOT_FOUND`, `409 BILLING_KEY_ALREADY_DELETED`, `409
    /// ALREADY_PAID_OR_WAITING`, `409 PAYMENT_SCHEDULE_ALREADY_EXISTS`, `400` / `409` for
    /// bad amounts.
    pub fn create_schedule(
        &mut self,
        store_id: &str,
        payment_id: &str,
        body: CreateScheduleBody,
        now: DateTime<Utc>,
    ) -> Result<Value, PortOneError> {
        let p = &body.payment;
        if p.order_name.trim().is_empty() {
            return Err(PortOneError::invalid("payment.orderName must not be empty"));
        }
        crate::amount::Amounts::new(p.amount.total, p.amount.tax_free, p.amount.vat)?;
        self.live_billing_key(store_id, &p.billing_key)?;
        if let Some(k) = &p.channel_key {
            self.channel(Some(k))?;
        }
        match self.payment_status(store_id, payment_id) {
            None | Some(PaymentStatus::Ready | PaymentStatus::Failed) => {}
            Some(s) => {
                return Err(PortOneError::new(
                    ErrorKind::AlreadyPaidOrWaiting,
                    format!("payment {payment_id:?} is already {}", s.as_str()),
                ));
            }
        }
        if self.schedules.values().any(|s| {
            s.store_id == store_id
                && s.payment_id == payment_id
                && s.status == ScheduleStatus::Scheduled
        }) {
            return Err(PortOneError::new(
                ErrorKind::PaymentScheduleAlreadyExists,
                format!("payment {payment_id:?} already has a pending schedule"),
            ));
        }
        let seq = self.next_seq();
        let id = new_id("payment-schedule-");
        self.schedules.insert(
            id.clone(),
            Schedule {
                seq,
                id: id.clone(),
                store_id: store_id.to_owned(),
                merchant_id: self.merchant_id(store_id),
                payment_id: payment_id.to_owned(),
                payment: body.payment,
                time_to_pay: body.time_to_pay,
                created_at: now,
                status: ScheduleStatus::Scheduled,
                finished_at: None,
            },
        );
        Ok(json!({ "schedule": { "id": id } }))
    }

    /// `GET /payment-schedules/{paymentScheduleId}`.
    ///
    /// # Errors
    /// `404 PAYMENT_SCHEDULE_NOT_FOUND`.
    pub fn schedule(&self, store_id: &str, id: &str) -> Result<&Schedule, PortOneError> {
        self.schedules
            .get(id)
            .filter(|s| s.store_id == store_id)
            .ok_or_else(|| schedule_not_found(id))
    }

    /// `GET /payment-schedules`: ordered by `timeToPay`, earliest first.
    ///
    /// # Errors
    /// `400 INVALID_REQUEST` for a bad page.
    pub fn list_schedules(
        &self,
        stores: &[String],
        body: GetSchedulesBody,
    ) -> Result<Value, PortOneError> {
        let f = &body.filter;
        let mut hits: Vec<&Schedule> = self
            .schedules
            .values()
            .filter(|s| stores.contains(&s.store_id))
            .filter(|s| {
                f.billing_key
                    .as_ref()
                    .is_none_or(|k| &s.payment.billing_key == k)
            })
            .filter(|s| {
                f.status
                    .as_ref()
                    .is_none_or(|st| st.iter().any(|st| st == s.status.as_str()))
            })
            .filter(|s| {
                f.from.is_none_or(|from| s.time_to_pay >= from)
                    && f.until.is_none_or(|until| s.time_to_pay < until)
            })
            .collect();
        hits.sort_by_key(|s| (s.time_to_pay, s.seq));
        super::page(hits.into_iter().map(Schedule::render).collect(), body.page)
    }

    /// `DELETE /payment-schedules`: revokes the named schedules, or every pending one of a
    /// billing key.
    ///
    /// # Errors
    /// `400 INVALID_REQUEST` when neither `billingKey` nor `scheduleIds` is given; `404
    /// BILLING_KEY_NOT_FOUND`, `404 PAYMENT_SCHEDULE_NOT_FOUND`, `409
    /// PAYMENT_SCHEDULE_ALREADY_REVOKED`, `409 PAYMENT_SCHEDULE_ALREADY_PROCESSED`
    /// (nothing is revoked then).
    pub fn revoke_schedules(
        &mut self,
        store_id: &str,
        body: RevokeSchedulesBody,
        now: DateTime<Utc>,
    ) -> Result<Value, PortOneError> {
        let ids: Vec<String> = match (&body.schedule_ids, &body.billing_key) {
            (Some(ids), _) if !ids.is_empty() => {
                for id in ids {
                    let s = self.schedule(store_id, id)?;
                    match s.status {
                        ScheduleStatus::Scheduled => {}
                        ScheduleStatus::Revoked => {
                            return Err(PortOneError::new(
                                ErrorKind::PaymentScheduleAlreadyRevoked,
                                format!("payment schedule {id:?} is already revoked"),
                            ));
                        }
                        ScheduleStatus::Succeeded | ScheduleStatus::Failed => {
                            return Err(PortOneError::new(
                                ErrorKind::PaymentScheduleAlreadyProcessed,
                                format!("payment schedule {id:?} has already run"),
                            ));
                        }
                    }
                }
                ids.clone()
            }
            (_, Some(key)) => {
                self.billing_key(store_id, key)?;
                let mut ids: Vec<&Schedule> = self
                    .schedules
                    .values()
                    .filter(|s| {
                        s.store_id == store_id
                            && &s.payment.billing_key == key
                            && s.status == ScheduleStatus::Scheduled
                    })
                    .collect();
                ids.sort_by_key(|s| s.seq);
                ids.into_iter().map(|s| s.id.clone()).collect()
            }
            _ => {
                return Err(PortOneError::invalid(
                    "billingKey or scheduleIds is required",
                ));
            }
        };
        for id in &ids {
            if let Some(s) = self.schedules.get_mut(id) {
                s.status = ScheduleStatus::Revoked;
                s.finished_at = Some(now);
            }
        }
        Ok(json!({ "revokedScheduleIds": ids, "revokedAt": ts(now) }))
    }

    /// Pays every pending schedule whose `timeToPay` has come, in time order; each
    /// becomes `SUCCEEDED` or `FAILED` and its payment sends its webhook. Returns how many
    /// ran.
    pub fn run_due_schedules(&mut self, now: DateTime<Utc>) -> usize {
        let mut due: Vec<(DateTime<Utc>, u64, String)> = self
            .schedules
            .values()
            .filter(|s| s.status == ScheduleStatus::Scheduled && s.time_to_pay <= now)
            .map(|s| (s.time_to_pay, s.seq, s.id.clone()))
            .collect();
        due.sort();
        for (_, _, id) in &due {
            let Some(s) = self.schedules.get(id).cloned() else {
                continue;
            };
            let outcome = self.pay_with_billing_key(
                &s.store_id,
                &s.payment_id,
                s.payment.clone(),
                Some(s.id.clone()),
                now,
            );
            if let Some(s) = self.schedules.get_mut(id) {
                s.status = if outcome.is_ok() {
                    ScheduleStatus::Succeeded
                } else {
                    ScheduleStatus::Failed
                };
                s.finished_at = Some(now);
            }
        }
        due.len()
    }

    /// The earliest `timeToPay` of a pending schedule.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.schedules
            .values()
            .filter(|s| s.status == ScheduleStatus::Scheduled)
            .map(|s| s.time_to_pay)
            .min()
    }
}
