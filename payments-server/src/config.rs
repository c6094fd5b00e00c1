//! The server's configuration: a TOML file, then `PAYMENTS_*` environment overrides.
//! Every secret is a [`Secret`], so printing a configuration never prints a key.
//!
//! ```toml
//! bind = "127.0.0.1:8080"
//! database = "payments.sqlite"          # or ":memory:", or "postgres://user@host/db?sslmode=require"
//! body_limit = 1048576                  # bytes; larger bodies are 413
//! password_iterations = 600000          # only range-checks; see ServerConfig::password_iterations
//!
//! [idempotency]                         # stored answers of Idempotency-Key requests
//! ttl_ms = 1296000000                   # a key expires 15 days after its first request
//! sweep_interval_ms = 600000            # expired keys are deleted this often ...
//! sweep_batch = 1000                    # ... this many per statement
//!
//! [passwords]                           # the record-password guess limiter, per record
//! max_failures = 5                      # wrong passwords in one window that lock the record
//! window_secs = 600                     # the window; lockout k lasts window × 2^k ...
//! max_lockout_secs = 86400              # ... up to this
//!
//! [envelopes]
//! sealed_v2_secret = "a long random string"
//! compat = { key = "32-byte key ......................", iv = "16-byte iv ....." }  # optional
//! replay_cache_entries = 2000000        # sealed-v2 tags remembered to refuse replays
//!
//! [data_keys]                           # at-rest encryption; `payments-server keygen` prints one
//! active = "k1"
//! keys = { k1 = "base64 of 64 random bytes" }
//!
//! [webhooks]
//! retry_schedule_ms = [1000, 5000, 30000, 300000, 1800000]
//! max_attempts = 6
//! timeout_ms = 10000
//! lease_ms = 30000                      # a worker's claim on a delivery; longer than timeout_ms
//! max_in_flight = 256                   # delivery attempts under way at once, per instance ...
//! max_in_flight_per_receiver = 64       # ... and of those, to any one receiver host
//! unknown_payment_grace_ms = 60000      # a PG webhook for an unregistered payment warns after this
//! allow_hosts = []                      # hosts delivered to whatever their address (tests: ["127.0.0.1"])
//! allow_insecure = false                # true: plain http:// receivers too
//! redeliver_interval_ms = 60000         # one caller-asked re-delivery per message per this
//!
//! [reconcile]                           # re-asks the PG about payments not final yet
//! interval_ms = 60000                   # one round per this; a new check waits at most this
//! max_per_round = 100                   # PG lookups per round at most (the rate bound)
//! max_backoff_ms = 3600000              # a payment still waiting is asked at most this far apart
//!
//! [events]                              # transaction events (approved, failed, cancelled)
//! url = "https://shop.example/payments/events"
//! envelope = "sealed-v2"
//!
//! [limits]
//! intake_burst = 2000                   # PG webhooks per source address at once ...
//! intake_refill_ms = 1                  # ... then one per this (429 past it)
//! intake_coalesce_ms = 1000             # webhooks for one payment share a PG fetch this long
//! header_read_timeout_ms = 10000        # a connection must send a whole request head this fast
//! body_read_timeout_ms = 10000          # ... and a request's whole body this fast (408 past it)
//! max_reads_in_flight = 512             # GET and PATCH requests served at once ...
//! max_writes_in_flight = 256            # ... POST and PUT requests (PG calls) at once
//! max_queued = 1024                     # requests waiting for a slot, per pool ...
//! queue_timeout_ms = 2000               # ... at most this long (503 OVERLOADED past either)
//!
//! [identity]
//! ci_hash_key = "a long random string"  # required; keep it fixed: it keys the CI hashes
//! max_age_ms = 600000                   # a certification is accepted once, this fresh
//!
//! [vendors]
//! timeout_ms = 10000
//! check_at_start = false                # true: refuse to start when a PG refuses our keys
//! toss = [{ store_id = "main", base_url = "https://api.tosspayments.com", secret_key = "test_sk_…" }]
//! iamport = [{ store_id = "main", base_url = "https://api.iamport.kr", imp_key = "…", imp_secret = "…" }]
//!
//! [[vendors.portone]]                   # PortOne V2; base_url defaults to https://api.portone.io
//! store_id = "main"
//! api_secret = "…"
//! portone_store_id = "store-…"
//! webhook_secret = "whsec_…"            # verifies POST /payments/webhooks/portone
//! ```

use payments_core::secret::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Everything the server needs to run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub bind: String,
    /// The SQLite file, `:memory:`, or a PostgreSQL URL (`postgres://…` or
    /// `postgresql://…`, see [`crate::store::postgres`]) for several instances on one
    /// database.
    pub database: String,
    /// The largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Legacy: the PBKDF2 iteration count record passwords were hashed with before the
    /// keyed hash (`hmac-sha256$…`, see [`payments_core::password::RecordPasswordKeys`]).
    /// Nothing is hashed with PBKDF2 any more; a stored `pbkdf2-sha256$…` hash names its
    /// own count and still verifies (and is replaced by the keyed hash on its first right
    /// password), whatever this says. Kept, and range-checked, so existing configuration
    /// files still load.
    pub password_iterations: u32,
    /// The record-password guess limiter.
    pub passwords: PasswordConfig,
    /// How long an unfinished idempotent request holds its key before a retry may take
    /// it over, in milliseconds.
    pub idempotency_in_flight_ms: u64,
    /// How long a request waits for an identical in-flight one (same key) to finish and
    /// replays its answer, in milliseconds, before answering `409`.
    pub idempotency_wait_ms: u64,
    /// How long idempotency keys and their answers are kept.
    pub idempotency: IdempotencyConfig,
    /// The body envelopes.
    pub envelopes: EnvelopeConfig,
    /// The at-rest data keys.
    pub data_keys: DataKeyConfig,
    /// Outgoing webhook delivery.
    pub webhooks: WebhookConfig,
    /// The PG stores.
    pub vendors: VendorConfig,
    /// Transaction events for the merchant.
    pub events: EventConfig,
    /// Identity verification.
    pub identity: IdentityConfig,
    /// Limits on what callers can make the server do.
    pub limits: LimitsConfig,
    /// The reconciliation worker.
    pub reconcile: ReconcileConfig,
}

/// The reconciliation worker (`reconcile.rs`): every history whose payment is not
/// final at the PG (a virtual account awaiting its deposit, a cancel whose answer may
/// be lost) is asked about again, so a PG webhook that never arrives leaves nothing
/// wrong for longer than the backoff.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconcileConfig {
    /// One round per this many milliseconds; a payment's first check, and the first
    /// wait of its backoff, is this long.
    pub interval_ms: u64,
    /// The PG lookups one round makes at most (one at a time): with `interval_ms`, the
    /// rate the worker asks the PGs at, per instance.
    pub max_per_round: usize,
    /// The longest wait between two checks of one payment, in milliseconds: the wait
    /// doubles from `interval_ms` after every check that finds the payment still
    /// waiting, up to this.
    pub max_backoff_ms: u64,
}

impl Default for ReconcileConfig {
    /// A round a minute of at most 100 lookups; a payment still waiting is asked at
    /// least hourly.
    fn default() -> Self {
        Self {
            interval_ms: 60_000,
            max_per_round: 100,
            max_backoff_ms: 3_600_000,
        }
    }
}

impl ReconcileConfig {
    /// The wait after the `checks`-th check (1-based) that found the payment still
    /// waiting (or could not ask): `interval_ms`, doubling, at most `max_backoff_ms`.
    pub fn backoff(&self, checks: u32) -> Duration {
        let doublings = checks.saturating_sub(1).min(32);
        let wait = self.interval_ms.saturating_mul(1u64 << doublings);
        Duration::from_millis(wait.min(self.max_backoff_ms.max(self.interval_ms)))
    }
}

/// How long idempotency keys and their stored answers are kept (`[idempotency]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdempotencyConfig {
    /// A key expires this many milliseconds after its first request started: a request
    /// with an expired key is new (run, not replayed nor refused as a mismatch), and the
    /// sweep deletes expired keys.
    pub ttl_ms: u64,
    /// How often the sweep deletes expired keys, in milliseconds.
    pub sweep_interval_ms: u64,
    /// The most keys one sweep statement deletes; a sweep repeats statements until none
    /// is left, so the database never deletes one huge batch in one transaction.
    pub sweep_batch: u32,
}

impl Default for IdempotencyConfig {
    /// 15 days (as long as Toss keeps its idempotency keys), swept every 10 minutes,
    /// 1,000 at a time.
    fn default() -> Self {
        Self {
            ttl_ms: 15 * 24 * 60 * 60 * 1_000,
            sweep_interval_ms: 600_000,
            sweep_batch: 1_000,
        }
    }
}

/// Limits on what callers, known or anonymous, can make the server do.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// PG webhooks (`/payments/webhooks/{toss,iamport,portone}`) one source address may
    /// send at once; past it, `429` with `Retry-After` (a PG retries later).
    pub intake_burst: u32,
    /// One more PG webhook per source address per this many milliseconds.
    pub intake_refill_ms: u64,
    /// Webhooks naming a payment within this many milliseconds of a PG fetch of it
    /// share that fetch (one more fetch follows the window if any came); `0` fetches
    /// for every webhook.
    pub intake_coalesce_ms: u64,
    /// A connection must send a request's whole head (request line and headers) within
    /// this many milliseconds of starting it, or it is closed: a client that trickles or
    /// stalls its headers cannot hold a connection open.
    pub header_read_timeout_ms: u64,
    /// A request's whole body must arrive within this many milliseconds of its head, or
    /// it is answered `408 REQUEST_TIMEOUT`. The body is read before the request takes a
    /// slot, so slow uploads hold no slot.
    pub body_read_timeout_ms: u64,
    /// Reads (`GET`, `PATCH`: store work only) served at once.
    pub max_reads_in_flight: usize,
    /// Writes (`POST`, `PUT`: most wait on a PG) served at once. A separate pool, so a
    /// slow PG cannot take the slots reads need.
    pub max_writes_in_flight: usize,
    /// Requests that may wait for a slot of one pool; past it a request is answered
    /// `503 OVERLOADED` with `Retry-After` at once.
    pub max_queued: usize,
    /// How long a request waits for a slot, in milliseconds, before `503 OVERLOADED`.
    pub queue_timeout_ms: u64,
}

impl Default for LimitsConfig {
    /// 2,000 webhooks at once per address, then 1,000 a second; fetches coalesced for
    /// 1 s; 10 s to send a request head and 10 s for its body; 512 reads and 256 writes
    /// at once, 1,024 waiting per pool for at most 2 s.
    fn default() -> Self {
        Self {
            // A PG sends every merchant's webhooks from a few addresses, and a burst of
            // deposits is normal: 1,000/s sustained per address. Amplification is bounded
            // by the per-payment coalescing, not by this.
            intake_burst: 2_000,
            intake_refill_ms: 1,
            intake_coalesce_ms: 1_000,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            max_reads_in_flight: 512,
            max_writes_in_flight: 256,
            max_queued: 1_024,
            queue_timeout_ms: 2_000,
        }
    }
}

/// The record-password guess limiter: wrong passwords are counted per record (in the
/// store, so the count survives restarts); `max_failures` of them within `window_secs`
/// lock the record, and during a lockout every password is refused before it is
/// checked (`429 TOO_MANY_ATTEMPTS` with `Retry-After`). Lockout `k` (from 0) lasts
/// `window_secs × 2^k`, at most `max_lockout_secs`; a right password after a lockout
/// starts the record afresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    /// Wrong passwords within one window that lock a record.
    pub max_failures: u32,
    /// The window, in seconds; also the first lockout.
    pub window_secs: u64,
    /// The longest lockout, in seconds; a record quiet this long starts afresh.
    pub max_lockout_secs: u64,
}

impl Default for PasswordConfig {
    /// 5 wrong passwords in 10 minutes; lockouts of 10, 20, 40 … minutes up to a day.
    fn default() -> Self {
        Self {
            max_failures: 5,
            window_secs: 600,
            max_lockout_secs: 86_400,
        }
    }
}

impl PasswordConfig {
    /// The policy the store applies.
    pub fn policy(&self) -> crate::store::AttemptPolicy {
        let ms = |secs: u64| i64::try_from(secs.saturating_mul(1_000)).unwrap_or(i64::MAX);
        crate::store::AttemptPolicy {
            max_failures: self.max_failures,
            window_ms: ms(self.window_secs),
            max_lockout_ms: ms(self.max_lockout_secs),
        }
    }
}

/// Where transaction events go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventConfig {
    /// The merchant's event URL; without one, transactions are kept but no events sent.
    pub url: Option<String>,
    /// The envelope events are sealed in (the server's keys).
    pub envelope: payments_core::envelope::EnvelopeKind,
}

impl Default for EventConfig {
    fn default() -> Self {
        Self {
            url: None,
            envelope: payments_core::envelope::EnvelopeKind::SealedV2,
        }
    }
}

/// Identity verification settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// The key of the CI hash (HMAC-SHA256), at least 16 characters; required (only
    /// `--demo` sets one of its own). Keep it fixed: a new key gives every person a new
    /// hash.
    pub ci_hash_key: Secret<String>,
    /// A certification is accepted only this many milliseconds after the person
    /// completed it (the PG's `certified_at` / `verifiedAt`), and only once: an old or a
    /// second use of one is refused, so a certification cannot stand in for a person
    /// later or for someone else.
    pub max_age_ms: u64,
}

impl Default for IdentityConfig {
    /// No key (start-up refuses that); certifications accepted for 10 minutes.
    fn default() -> Self {
        Self {
            ci_hash_key: Secret::default(),
            max_age_ms: 600_000,
        }
    }
}

/// The shortest `[identity] ci_hash_key` accepted.
pub const MIN_CI_HASH_KEY_LEN: usize = 16;

/// The envelope keys, and the memory of sealed-v2 requests already accepted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeConfig {
    /// The sealed-v2 secret (keys are derived from it at start-up).
    pub sealed_v2_secret: Secret<String>,
    /// The nestia-compatible envelope; absent means `compat` is switched off.
    pub compat: Option<CompatConfig>,
    /// How many sealed-v2 requests (their tags) are remembered to refuse replays, for as
    /// long as each one's timestamp is fresh (300 s): about 24 bytes each, so the default
    /// 2,000,000 is ~48 MB at most and lasts a sustained 6,600 requests/s. When it is full,
    /// new requests are refused `503 OVERLOADED` rather than forgotten ones let through.
    #[serde(default = "default_replay_cache_entries")]
    pub replay_cache_entries: usize,
}

fn default_replay_cache_entries() -> usize {
    2_000_000
}

impl Default for EnvelopeConfig {
    fn default() -> Self {
        Self {
            sealed_v2_secret: Secret::default(),
            compat: None,
            replay_cache_entries: default_replay_cache_entries(),
        }
    }
}

/// The `compat` envelope's key and IV (UTF-8 strings).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompatConfig {
    /// 16 or 32 bytes.
    pub key: Secret<String>,
    /// 16 bytes.
    pub iv: Secret<String>,
}

/// The at-rest data keys.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DataKeyConfig {
    /// The key id new values are sealed with.
    pub active: String,
    /// Every key id and its key (base64 of 64 bytes); keep old ones to read old values.
    pub keys: BTreeMap<String, Secret<String>>,
}

/// Outgoing webhook delivery.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// Waits between attempts, in milliseconds; the last repeats.
    pub retry_schedule_ms: Vec<u64>,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// The receiver's time limit per attempt, in milliseconds.
    pub timeout_ms: u64,
    /// How often the worker looks for due deliveries when nothing wakes it, in milliseconds.
    pub poll_interval_ms: u64,
    /// How long a worker's claim on a delivery lasts, in milliseconds: no other worker
    /// (another instance on the same database) attempts it before then, and a worker
    /// that died mid-delivery is taken over after it. Must exceed `timeout_ms`, so a
    /// live worker always records its attempt before its claim runs out.
    pub lease_ms: u64,
    /// Delivery attempts one instance's worker has under way at once. Each attempt is
    /// independent: a receiver that hangs holds its own slot until `timeout_ms`, and
    /// the others go on.
    pub max_in_flight: usize,
    /// Of `max_in_flight`, the attempts to any one receiver host at once, so one slow
    /// or hanging receiver cannot take every slot (and no receiver is sent more than
    /// this many requests at once by one instance).
    pub max_in_flight_per_receiver: usize,
    /// How long a PG webhook for a payment no history names may stay unexplained before
    /// it is logged as a warning, in milliseconds (before, it is the usual race with the
    /// caller's registration, logged at debug).
    pub unknown_payment_grace_ms: u64,
    /// Hosts webhooks and events may be delivered to whatever address they have or
    /// resolve to (`127.0.0.1`, `localhost`, `[::1]`, an internal name): every other host
    /// must be, and resolve only to, a public address. Tests and local development list
    /// their receivers here; production lists nothing.
    pub allow_hosts: Vec<String>,
    /// Deliver to plain `http://` URLs too (tests, local development); off, a
    /// `webhook_url` or `[events] url` must be `https://`.
    pub allow_insecure: bool,
    /// The shortest wait between two re-deliveries of one message that a caller asks
    /// for (`POST /payments/{webhooks,events}/{id}/redeliver`), in milliseconds; a
    /// request sooner is `429` with `Retry-After`.
    pub redeliver_interval_ms: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            retry_schedule_ms: vec![1_000, 5_000, 30_000, 300_000, 1_800_000],
            max_attempts: 6,
            timeout_ms: 10_000,
            poll_interval_ms: 1_000,
            lease_ms: 30_000,
            max_in_flight: 256,
            max_in_flight_per_receiver: 64,
            unknown_payment_grace_ms: 60_000,
            allow_hosts: Vec::new(),
            allow_insecure: false,
            redeliver_interval_ms: 60_000,
        }
    }
}

impl WebhookConfig {
    /// Where deliveries may go under this configuration.
    pub(crate) fn egress(&self) -> crate::webhooks::egress::EgressPolicy {
        crate::webhooks::egress::EgressPolicy::new(&self.allow_hosts, self.allow_insecure)
    }

    /// The wait after the `attempts`-th failed attempt (1-based).
    pub fn backoff(&self, attempts: u32) -> Duration {
        let index =
            (attempts.max(1) as usize - 1).min(self.retry_schedule_ms.len().saturating_sub(1));
        Duration::from_millis(self.retry_schedule_ms.get(index).copied().unwrap_or(1_000))
    }
}

/// The PG stores.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VendorConfig {
    /// Time limit of every PG call, in milliseconds.
    pub timeout_ms: u64,
    /// Ask each store once at start whether it accepts the server's credentials, and
    /// refuse to start when one refuses (an unreachable PG is only logged: an outage
    /// must not keep the server down).
    pub check_at_start: bool,
    /// Toss Payments stores.
    pub toss: Vec<TossStore>,
    /// PortOne V1 stores.
    pub iamport: Vec<IamportStore>,
    /// PortOne V2 stores.
    pub portone: Vec<PortOneStore>,
}

impl Default for VendorConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 10_000,
            check_at_start: false,
            toss: vec![],
            iamport: vec![],
            portone: vec![],
        }
    }
}

/// One Toss Payments merchant account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TossStore {
    /// The id callers name in `vendor.store_id`.
    pub store_id: String,
    /// `https://api.tosspayments.com`, or a fake's URI.
    pub base_url: String,
    /// The secret key.
    pub secret_key: Secret<String>,
}

/// One PortOne merchant account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamportStore {
    /// The id callers name in `vendor.store_id`.
    pub store_id: String,
    /// `https://api.iamport.kr`, or a fake's URI.
    pub base_url: String,
    /// The REST API key.
    pub imp_key: String,
    /// The REST API secret.
    pub imp_secret: Secret<String>,
}

/// One PortOne V2 store (`[[vendors.portone]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortOneStore {
    /// The id callers name in `vendor.store_id`.
    pub store_id: String,
    /// `https://api.portone.io` (the default), or a fake's URI.
    #[serde(default = "default_portone_base_url")]
    pub base_url: String,
    /// The V2 API secret (`Authorization: PortOne <api_secret>`).
    pub api_secret: Secret<String>,
    /// PortOne's `storeId` of this store (`store-…`), sent with every call.
    pub portone_store_id: String,
    /// The store's webhook secret (`whsec_` + base64), which signs PortOne's webhooks.
    pub webhook_secret: Secret<String>,
}

fn default_portone_base_url() -> String {
    crate::vendors::portone::DEFAULT_BASE_URL.to_owned()
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            database: "payments.sqlite".into(),
            body_limit: 1024 * 1024,
            password_iterations: payments_core::password::OWASP_PBKDF2_SHA256_ITERATIONS,
            passwords: PasswordConfig::default(),
            idempotency_in_flight_ms: 60_000,
            idempotency_wait_ms: 10_000,
            idempotency: IdempotencyConfig::default(),
            envelopes: EnvelopeConfig::default(),
            data_keys: DataKeyConfig::default(),
            webhooks: WebhookConfig::default(),
            vendors: VendorConfig::default(),
            events: EventConfig::default(),
            identity: IdentityConfig::default(),
            limits: LimitsConfig::default(),
            reconcile: ReconcileConfig::default(),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML did not parse or named an unknown field.
    #[error("configuration file: {0}")]
    Toml(#[from] toml::de::Error),
    /// An environment override did not parse.
    #[error("environment variable {name}: {problem}")]
    Env {
        /// The variable.
        name: String,
        /// What was wrong.
        problem: String,
    },
    /// A value is missing or unusable.
    #[error("{0}")]
    Invalid(String),
}

impl ServerConfig {
    /// Parses a TOML configuration (missing fields take their defaults).
    ///
    /// # Errors
    /// Malformed TOML or an unknown field.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Ok(toml::from_str(text)?)
    }

    /// Applies `PAYMENTS_*` overrides from `vars` (pass `std::env::vars()`):
    /// `PAYMENTS_BIND`, `PAYMENTS_DATABASE`, `PAYMENTS_BODY_LIMIT`,
    /// `PAYMENTS_PASSWORD_ITERATIONS`, `PAYMENTS_SEALED_V2_SECRET`, `PAYMENTS_COMPAT_KEY` +
    /// `PAYMENTS_COMPAT_IV`, `PAYMENTS_DATA_KEY_ID` + `PAYMENTS_DATA_KEY` (adds the key and
    /// makes it active).
    ///
    /// # Errors
    /// A number that does not parse, or a compat key without its IV.
    pub fn apply_env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        let vars: BTreeMap<String, String> = vars
            .into_iter()
            .filter(|(name, _)| name.starts_with("PAYMENTS_"))
            .collect();
        let number = |name: &str, value: &str| {
            value.parse::<u64>().map_err(|e| ConfigError::Env {
                name: name.to_owned(),
                problem: e.to_string(),
            })
        };
        for (name, value) in &vars {
            match name.as_str() {
                "PAYMENTS_BIND" => self.bind = value.clone(),
                "PAYMENTS_DATABASE" => self.database = value.clone(),
                "PAYMENTS_BODY_LIMIT" => self.body_limit = number(name, value)? as usize,
                "PAYMENTS_PASSWORD_ITERATIONS" => {
                    // Checked, not `as`: 4294967297 must be refused, not read as 1.
                    self.password_iterations =
                        u32::try_from(number(name, value)?).map_err(|_| ConfigError::Env {
                            name: name.clone(),
                            problem: format!("{value} is more than {}", u32::MAX),
                        })?
                }
                "PAYMENTS_SEALED_V2_SECRET" => {
                    self.envelopes.sealed_v2_secret = Secret::new(value.clone())
                }
                _ => {}
            }
        }
        match (
            vars.get("PAYMENTS_COMPAT_KEY"),
            vars.get("PAYMENTS_COMPAT_IV"),
        ) {
            (Some(key), Some(iv)) => {
                self.envelopes.compat = Some(CompatConfig {
                    key: Secret::new(key.clone()),
                    iv: Secret::new(iv.clone()),
                })
            }
            (None, None) => {}
            _ => {
                return Err(ConfigError::Env {
                    name: "PAYMENTS_COMPAT_KEY".into(),
                    problem: "PAYMENTS_COMPAT_KEY and PAYMENTS_COMPAT_IV go together".into(),
                });
            }
        }
        if let Some(key) = vars.get("PAYMENTS_DATA_KEY") {
            let id = vars
                .get("PAYMENTS_DATA_KEY_ID")
                .cloned()
                .unwrap_or_else(|| "env".into());
            self.data_keys
                .keys
                .insert(id.clone(), Secret::new(key.clone()));
            self.data_keys.active = id;
        }
        Ok(())
    }

    /// Checks what start-up would otherwise fail on late.
    ///
    /// # Errors
    /// A missing sealed-v2 secret or data key, a zero limit, an `[events] url` the
    /// `[webhooks]` egress rules refuse, or a PortOne V2 store without
    /// its store id or with a webhook secret that is not `whsec_` + base64.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.envelopes.sealed_v2_secret.expose().len() < 16 {
            return Err(ConfigError::Invalid(
                "envelopes.sealed_v2_secret must be at least 16 characters".into(),
            ));
        }
        if self.identity.ci_hash_key.expose().len() < MIN_CI_HASH_KEY_LEN {
            return Err(ConfigError::Invalid(format!(
                "identity.ci_hash_key must be set, at least {MIN_CI_HASH_KEY_LEN} characters \
                 (keep it fixed: it keys the CI hashes shops compare)"
            )));
        }
        if self.identity.max_age_ms == 0 {
            return Err(ConfigError::Invalid(
                "identity.max_age_ms must be at least 1".into(),
            ));
        }
        let limits = &self.limits;
        for (name, value) in [
            ("header_read_timeout_ms", limits.header_read_timeout_ms),
            ("body_read_timeout_ms", limits.body_read_timeout_ms),
            ("max_reads_in_flight", limits.max_reads_in_flight as u64),
            ("max_writes_in_flight", limits.max_writes_in_flight as u64),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid(format!(
                    "limits.{name} must be at least 1"
                )));
            }
        }
        if self.data_keys.keys.is_empty() {
            return Err(ConfigError::Invalid(
                "data_keys: at least one key is required (payments-server keygen prints one)"
                    .into(),
            ));
        }
        for (index, store) in self.vendors.portone.iter().enumerate() {
            crate::webhooks::portone::WebhookKey::new(store.webhook_secret.expose()).map_err(
                |problem| {
                    ConfigError::Invalid(format!(
                        "vendors.portone[{index}].webhook_secret: {problem}"
                    ))
                },
            )?;
            if store.portone_store_id.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "vendors.portone[{index}].portone_store_id must not be empty"
                )));
            }
        }
        let passwords = &self.passwords;
        if passwords.max_failures == 0
            || passwords.window_secs == 0
            || passwords.max_lockout_secs < passwords.window_secs
        {
            return Err(ConfigError::Invalid(
                "passwords: max_failures and window_secs must be above zero, and max_lockout_secs at least window_secs".into(),
            ));
        }
        if self.webhooks.lease_ms <= self.webhooks.timeout_ms {
            return Err(ConfigError::Invalid(format!(
                "webhooks.lease_ms ({}) must be longer than webhooks.timeout_ms ({}): a claim \
                 that ran out mid-attempt would let another worker send the message again",
                self.webhooks.lease_ms, self.webhooks.timeout_ms
            )));
        }
        if self.webhooks.max_in_flight == 0 || self.webhooks.max_in_flight_per_receiver == 0 {
            return Err(ConfigError::Invalid(
                "webhooks.max_in_flight and webhooks.max_in_flight_per_receiver must be above \
                 zero: at zero no webhook is ever delivered"
                    .into(),
            ));
        }
        if let Some(url) = &self.events.url {
            crate::validate::webhook_url("events.url", url, &self.webhooks.egress())
                .map_err(|error| ConfigError::Invalid(error.to_string()))?;
        }
        let idempotency = &self.idempotency;
        if idempotency.ttl_ms <= self.idempotency_in_flight_ms
            || idempotency.sweep_interval_ms == 0
            || idempotency.sweep_batch == 0
        {
            return Err(ConfigError::Invalid(format!(
                "idempotency: ttl_ms ({}) must be longer than idempotency_in_flight_ms ({}), \
                 and sweep_interval_ms and sweep_batch above zero",
                idempotency.ttl_ms, self.idempotency_in_flight_ms
            )));
        }
        if self.reconcile.interval_ms == 0 || self.reconcile.max_per_round == 0 {
            return Err(ConfigError::Invalid(
                "reconcile.interval_ms and reconcile.max_per_round must be above zero".into(),
            ));
        }
        if self.body_limit == 0 || self.webhooks.max_attempts == 0 {
            return Err(ConfigError::Invalid(
                "body_limit and webhooks.max_attempts must be above zero".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A configuration with what `validate` requires (envelopes, data keys, identity),
    /// plus `rest`.
    fn valid_with(rest: &str) -> ServerConfig {
        ServerConfig::from_toml(&format!(
            "[envelopes]\nsealed_v2_secret = \"file-secret-0123456789\"\n\
             [data_keys]\nactive = \"k1\"\nkeys = {{ k1 = \"AAAA\" }}\n\
             [identity]\nci_hash_key = \"ci-hash-key-0123456789\"\n{rest}"
        ))
        .unwrap()
    }

    #[test]
    fn toml_then_environment() {
        let mut config = ServerConfig::from_toml(
            r#"
            bind = "127.0.0.1:9000"
            [envelopes]
            sealed_v2_secret = "file-secret-0123456789"
            [identity]
            ci_hash_key = "ci-hash-key-0123456789"
            [data_keys]
            active = "k1"
            keys = { k1 = "AAAA" }
            [[vendors.toss]]
            store_id = "main"
            base_url = "http://127.0.0.1:1"
            secret_key = "test_sk"
            [[vendors.portone]]
            store_id = "v2"
            api_secret = "v2-api-secret"
            portone_store_id = "store-1"
            webhook_secret = "whsec_c2VjcmV0"
            "#,
        )
        .unwrap();
        assert_eq!(config.bind, "127.0.0.1:9000");
        assert_eq!(config.vendors.toss[0].store_id, "main");
        assert_eq!(config.vendors.portone[0].base_url, "https://api.portone.io");
        config
            .apply_env([
                ("PAYMENTS_BIND".to_string(), "0.0.0.0:1".to_string()),
                ("PAYMENTS_PASSWORD_ITERATIONS".into(), "1000".into()),
                ("PAYMENTS_DATA_KEY".into(), "BBBB".into()),
                ("HOME".into(), "/root".into()),
            ])
            .unwrap();
        assert_eq!(config.bind, "0.0.0.0:1");
        assert_eq!(config.password_iterations, 1000);
        assert_eq!(config.data_keys.active, "env");
        let printed = format!("{config:?}");
        assert!(!printed.contains("file-secret") && !printed.contains("test_sk"));
        assert!(!printed.contains("v2-api-secret") && !printed.contains("c2VjcmV0"));
        config.vendors.portone[0].webhook_secret = Secret::new("not base64!".into());
        let error = config.validate().unwrap_err().to_string();
        assert!(
            error.contains("vendors.portone[0].webhook_secret"),
            "{error}"
        );
    }

    #[test]
    fn password_iterations_past_u32_are_refused_not_wrapped() {
        let mut config = ServerConfig::default();
        let error = config
            .apply_env([(
                "PAYMENTS_PASSWORD_ITERATIONS".to_string(),
                "4294967297".to_string(),
            )])
            .unwrap_err()
            .to_string();
        assert!(error.contains("PAYMENTS_PASSWORD_ITERATIONS"), "{error}");
        assert_ne!(config.password_iterations, 1, "not wrapped to 1");
    }

    #[test]
    fn mistakes_are_named() {
        assert!(ServerConfig::from_toml("bnd = 1").is_err());
        let mut config = ServerConfig::default();
        let error = config
            .apply_env([("PAYMENTS_BODY_LIMIT".to_string(), "lots".to_string())])
            .unwrap_err();
        assert!(error.to_string().contains("PAYMENTS_BODY_LIMIT"));
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("sealed_v2_secret")
        );
    }

    #[test]
    fn the_guess_limiter_is_configured_and_checked() {
        let mut config = valid_with(
            r#"
            [passwords]
            max_failures = 3
            "#,
        );
        let policy = config.passwords.policy();
        assert_eq!(
            (policy.max_failures, policy.window_ms, policy.max_lockout_ms),
            (3, 600_000, 86_400_000)
        );
        config.validate().unwrap();
        config.passwords.max_lockout_secs = 10;
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("passwords"), "{error}");
        config.passwords = PasswordConfig {
            max_failures: 0,
            ..PasswordConfig::default()
        };
        assert!(config.validate().is_err());
    }

    #[test]
    fn a_postgres_database_and_the_delivery_lease_are_configured_and_checked() {
        let mut config = ServerConfig::from_toml(
            r#"
            database = "postgres://payments@db.internal/payments?sslmode=require"
            [envelopes]
            sealed_v2_secret = "file-secret-0123456789"
            [data_keys]
            active = "k1"
            keys = { k1 = "AAAA" }
            [identity]
            ci_hash_key = "ci-hash-key-0123456789"
            [webhooks]
            lease_ms = 45000
            "#,
        )
        .unwrap();
        assert!(crate::store::postgres::is_postgres_url(&config.database));
        assert_eq!(config.webhooks.lease_ms, 45_000);
        config.validate().unwrap();
        config
            .apply_env([(
                "PAYMENTS_DATABASE".to_string(),
                "postgresql://other/db".to_string(),
            )])
            .unwrap();
        assert_eq!(config.database, "postgresql://other/db");
        config.webhooks.lease_ms = config.webhooks.timeout_ms;
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("webhooks.lease_ms"), "{error}");
        assert_eq!(WebhookConfig::default().lease_ms, 30_000);
    }

    #[test]
    fn reconcile_backoff_doubles_up_to_its_cap_and_zero_is_refused() {
        let config = ReconcileConfig {
            interval_ms: 100,
            max_per_round: 5,
            max_backoff_ms: 350,
        };
        assert_eq!(config.backoff(1), Duration::from_millis(100));
        assert_eq!(config.backoff(2), Duration::from_millis(200));
        assert_eq!(config.backoff(3), Duration::from_millis(350));
        assert_eq!(config.backoff(u32::MAX), Duration::from_millis(350));
        let parsed = valid_with(
            r#"
            [reconcile]
            interval_ms = 5000
            max_per_round = 0
            "#,
        );
        assert_eq!(parsed.reconcile.interval_ms, 5_000);
        assert_eq!(parsed.reconcile.max_backoff_ms, 3_600_000);
        let error = parsed.validate().unwrap_err().to_string();
        assert!(error.contains("reconcile.max_per_round"), "{error}");
    }

    #[test]
    fn the_delivery_slots_are_configured_and_refused_at_zero() {
        let mut config = valid_with(
            r#"
            [webhooks]
            max_in_flight = 32
            max_in_flight_per_receiver = 4
            "#,
        );
        assert_eq!(config.webhooks.max_in_flight, 32);
        assert_eq!(config.webhooks.max_in_flight_per_receiver, 4);
        config.validate().unwrap();
        assert_eq!(WebhookConfig::default().max_in_flight, 256);
        assert_eq!(WebhookConfig::default().max_in_flight_per_receiver, 64);
        config.webhooks.max_in_flight = 0;
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("webhooks.max_in_flight"), "{error}");
        config.webhooks.max_in_flight = 32;
        config.webhooks.max_in_flight_per_receiver = 0;
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("max_in_flight_per_receiver"), "{error}");
    }

    #[test]
    fn idempotency_expiry_is_configured_and_checked() {
        let mut config = valid_with(
            r#"
            [idempotency]
            ttl_ms = 86400000
            "#,
        );
        assert_eq!(config.idempotency.ttl_ms, 86_400_000);
        assert_eq!(config.idempotency.sweep_batch, 1_000);
        assert_eq!(IdempotencyConfig::default().ttl_ms, 1_296_000_000);
        config.validate().unwrap();
        config.idempotency.ttl_ms = config.idempotency_in_flight_ms;
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("idempotency"), "{error}");
    }

    #[test]
    fn the_ci_hash_key_must_be_configured() {
        let mut config = ServerConfig::from_toml(
            r#"
            [envelopes]
            sealed_v2_secret = "file-secret-0123456789"
            [data_keys]
            active = "k1"
            keys = { k1 = "AAAA" }
            "#,
        )
        .unwrap();
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("identity.ci_hash_key"), "{error}");
        config.identity.ci_hash_key = Secret::new("short".into());
        assert!(config.validate().is_err());
        config.identity.ci_hash_key = Secret::new("ci-hash-key-0123456789".into());
        config.validate().unwrap();
        assert_eq!(config.identity.max_age_ms, 600_000);
        config.identity.max_age_ms = 0;
        assert!(config.validate().is_err());
    }

    #[test]
    fn backoff_follows_the_schedule_and_repeats_its_last_step() {
        let config = WebhookConfig {
            retry_schedule_ms: vec![10, 20],
            ..WebhookConfig::default()
        };
        assert_eq!(config.backoff(1), Duration::from_millis(10));
        assert_eq!(config.backoff(2), Duration::from_millis(20));
        assert_eq!(config.backoff(9), Duration::from_millis(20));
    }
}
