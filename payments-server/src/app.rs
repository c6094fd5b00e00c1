//! [`App`]: the state every route and worker shares, and the small services on it
//! (password hashing off the async workers, envelope keys, sealing at rest).

use crate::at_rest::DataKeys;
use crate::config::ServerConfig;
use crate::errors::{AccessError, Internal, UnknownStore};
use crate::store::Store;
use crate::vendors::Gateways;
use payments_core::clock::{Clock, IdGen};
use payments_core::envelope::{CompatKey, Envelope, EnvelopeKind, SealedV2Key};
use payments_core::password::{PasswordHasher, verify_password};
use payments_core::records::VendorCode;
use payments_core::timestamp::Timestamp;
use payments_core::vendor::PaymentGateway;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;

/// The envelope keys the server accepts and answers with.
#[derive(Clone, Debug)]
pub struct Envelopes {
    /// sealed-v2, always on.
    pub sealed_v2: SealedV2Key,
    /// compat, when configured.
    pub compat: Option<CompatKey>,
}

impl Envelopes {
    /// The configured envelope of a kind, `None` when that kind is switched off.
    pub fn get(&self, kind: EnvelopeKind) -> Option<Envelope> {
        match kind {
            EnvelopeKind::SealedV2 => Some(Envelope::SealedV2(self.sealed_v2.clone())),
            EnvelopeKind::Compat => self.compat.clone().map(Envelope::Compat),
        }
    }
}

/// Shared server state.
pub struct App {
    /// The configuration the server started with.
    pub config: ServerConfig,
    /// Where records live.
    pub store: Arc<dyn Store>,
    /// The PG adapters by (vendor, store id).
    pub gateways: Gateways,
    /// The body envelopes.
    pub envelopes: Envelopes,
    /// The at-rest keys.
    pub data_keys: DataKeys,
    /// Record password hashing.
    pub hasher: PasswordHasher,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// Where ids come from.
    pub ids: Arc<dyn IdGen>,
    /// The client webhooks are delivered with.
    pub webhook_http: reqwest::Client,
    /// When the server started.
    pub started_at: Timestamp,
    /// Requests being served right now.
    pub in_flight: Arc<AtomicI64>,
    /// Webhooks for payments not registered (yet), warned about after a grace window.
    pub unknown_payments: crate::webhooks::unknown::UnknownPayments,
    /// Slows down owners who guess coupon codes wrong.
    pub coupon_guard: crate::guess_guard::GuessGuard,
    /// One permit per core: password hashes queue instead of all running at once and
    /// each taking N times as long.
    pub hashing: Arc<tokio::sync::Semaphore>,
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
    pub fn gateway(
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

    /// Hashes a record password on the blocking pool.
    ///
    /// # Errors
    /// [`Internal`] if the blocking task dies.
    pub async fn hash_password(&self, password: &str) -> Result<String, Internal> {
        let hasher = self.hasher;
        let password = zeroizing(password);
        let _permit = self.hashing.acquire().await.map_err(Internal::new)?;
        tokio::task::spawn_blocking(move || hasher.hash(password.expose()))
            .await
            .map_err(Internal::new)
    }

    /// Checks a record password on the blocking pool.
    ///
    /// # Errors
    /// [`AccessError::WrongPassword`] when it does not match; [`AccessError::Internal`]
    /// for a corrupt stored hash.
    pub async fn check_password(&self, stored: &str, password: &str) -> Result<(), AccessError> {
        let stored = stored.to_owned();
        let password = zeroizing(password);
        let _permit = self.hashing.acquire().await.map_err(Internal::new)?;
        let matches =
            tokio::task::spawn_blocking(move || verify_password(&stored, password.expose()))
                .await
                .map_err(Internal::new)?
                .map_err(Internal::new)?;
        if matches {
            Ok(())
        } else {
            Err(AccessError::WrongPassword)
        }
    }

    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }
}

fn zeroizing(password: &str) -> payments_core::secret::Secret<String> {
    payments_core::secret::Secret::new(password.to_owned())
}
