//! [`App`]: the state every route and worker shares, and the small services on it
//! (record-password hashing, envelope keys, sealing at rest).

use crate::at_rest::DataKeys;
use crate::config::ServerConfig;
use crate::errors::{Internal, UnknownStore};
use crate::store::Store;
use crate::vendors::Gateways;
use payments_core::clock::{Clock, IdGen};
use payments_core::envelope::{CompatKey, Envelope, EnvelopeKind, SealedV2Key};
use payments_core::password::{KEYED_SCHEME, PasswordCheck, RecordPasswordKeys};
use payments_core::records::VendorCode;
use payments_core::timestamp::Timestamp;
use payments_core::vendor::PaymentGateway;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The envelope keys the server accepts and answers with.
#[derive(Clone, Debug)]
pub(crate) struct Envelopes {
    /// sealed-v2, always on.
    pub(crate) sealed_v2: SealedV2Key,
    /// compat, when configured.
    pub(crate) compat: Option<CompatKey>,
}

impl Envelopes {
    /// The configured envelope of a kind, `None` when that kind is switched off.
    pub(crate) fn get(&self, kind: EnvelopeKind) -> Option<Envelope> {
        match kind {
            EnvelopeKind::SealedV2 => Some(Envelope::SealedV2(self.sealed_v2.clone())),
            EnvelopeKind::Compat => self.compat.clone().map(Envelope::Compat),
        }
    }
}

/// Shared server state: built only by [`PaymentServerBuilder::build`](crate::PaymentServerBuilder::build),
/// mounted with [`http::router`](crate::http::router); opaque outside the crate.
pub struct App {
    /// The configuration the server started with.
    pub(crate) config: ServerConfig,
    /// Where records live.
    pub(crate) store: Arc<dyn Store>,
    /// The PG adapters by (vendor, store id).
    pub(crate) gateways: Gateways,
    /// The body envelopes.
    pub(crate) envelopes: Envelopes,
    /// The at-rest keys.
    pub(crate) data_keys: DataKeys,
    /// Record-password hashing: keyed hashes under keys derived from the data keys.
    pub(crate) record_keys: RecordPasswordKeys,
    /// Who may try a record password now (the guess limiter).
    pub(crate) password_limiter: crate::passwords::PasswordLimiter,
    /// Stored password hashes checked so far (a metric; tests count hash checks with it).
    pub(crate) password_checks: AtomicU64,
    /// Where "now" comes from.
    pub(crate) clock: Arc<dyn Clock>,
    /// Where ids come from.
    pub(crate) ids: Arc<dyn IdGen>,
    /// The client webhooks are delivered with: no redirects, no proxy, every address it
    /// connects to checked by [`App::egress`].
    pub(crate) webhook_http: reqwest::Client,
    /// Where webhooks and events may be delivered (`[webhooks] allow_hosts`,
    /// `allow_insecure`).
    pub(crate) egress: crate::webhooks::egress::EgressPolicy,
    /// PG fetches asked for by webhooks, one per payment at a time.
    pub(crate) refreshes: crate::webhooks::coalesce::Refreshes,
    /// PG webhooks per source address (`[limits] intake_burst`, `intake_refill_ms`).
    pub(crate) intake: crate::rate_limit::KeyedLimiter<std::net::IpAddr>,
    /// Caller-asked re-deliveries, per message (`[webhooks] redeliver_interval_ms`).
    pub(crate) redeliveries: crate::rate_limit::KeyedLimiter<uuid::Uuid>,
    /// When the server started.
    pub(crate) started_at: Timestamp,
    /// Requests being served right now.
    pub(crate) in_flight: Arc<AtomicI64>,
    /// Webhooks for payments not registered (yet), warned about after a grace window.
    pub(crate) unknown_payments: crate::webhooks::unknown::UnknownPayments,
    /// Slows down owners who guess coupon codes wrong.
    pub(crate) coupon_guard: crate::guess_guard::GuessGuard,
    /// The tags of sealed-v2 requests already accepted.
    pub(crate) replays: crate::http::replay::ReplayGuard,
    /// The body deadline and the read and write slots every request but
    /// `/monitors/health` goes through.
    pub(crate) admission: crate::http::admission::Admission,
    /// One permit per core: checks of old PBKDF2 hashes queue instead of all running at
    /// once and each taking N times as long.
    pub(crate) hashing: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("gateways", &self.gateways)
            .field("started_at", &self.started_at)
            .finish_non_exhaustive()
    }
}

impl App {
    /// The adapter for a store.
    ///
    /// # Errors
    /// [`UnknownStore`] naming the vendor and store.
    pub(crate) fn gateway(
        &self,
        vendor: VendorCode,
        store_id: &str,
    ) -> Result<Arc<dyn PaymentGateway>, UnknownStore> {
        self.gateways
            .get(vendor, store_id)
            .ok_or_else(|| UnknownStore {
                vendor,
                store_id: store_id.to_owned(),
            })
    }

    /// Hashes a record password: the keyed hash under the active key, about 3 µs, so on
    /// the calling worker.
    pub(crate) fn hash_password(&self, password: &str) -> String {
        self.record_keys.hash(password)
    }

    /// Checks a password against a stored hash. A keyed hash is checked on the calling
    /// worker (about a microsecond); an old PBKDF2 hash on the blocking pool, one per
    /// core at a time. Callers go through [`crate::passwords::check`], which puts the
    /// guess limiter in front of this.
    ///
    /// # Errors
    /// [`Internal`] for a corrupt stored hash, or a blocking task that died.
    pub(crate) async fn check_hash(
        &self,
        stored: &str,
        password: &str,
    ) -> Result<PasswordCheck, Internal> {
        self.password_checks.fetch_add(1, Ordering::Relaxed);
        if stored.starts_with(KEYED_SCHEME) {
            return self
                .record_keys
                .verify(stored, password)
                .map_err(Internal::new);
        }
        let keys = self.record_keys.clone();
        let stored = stored.to_owned();
        let password = zeroizing(password);
        let _permit = self.hashing.acquire().await.map_err(Internal::new)?;
        tokio::task::spawn_blocking(move || keys.verify(&stored, password.expose()))
            .await
            .map_err(Internal::new)?
            .map_err(Internal::new)
    }

    /// Now, in Unix milliseconds.
    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }
}

fn zeroizing(password: &str) -> payments_core::secret::Secret<String> {
    payments_core::secret::Secret::new(password.to_owned())
}
