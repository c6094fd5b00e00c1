//! [`StoreSettings`]: one store (상점) of the fake — its id, who may reach it, and where and
//! how its webhooks go.

use crate::webhook::WebhookVersion;

/// The API secret a fake accepts when none is configured.
pub const DEFAULT_API_SECRET: &str = "portone-fake-api-secret";

/// The store id of a fake's first store when none is configured.
pub const DEFAULT_STORE_ID: &str = "store-00000000-0000-4000-8000-000000000001";

/// The webhook secret of a fake's first store when none is configured (fixed so that a
/// suite in another language can verify signatures without reading it from the fake).
pub const DEFAULT_WEBHOOK_SECRET: &str = "whsec_ZmFrZS1wb3J0b25lLXdlYmhvb2stc2VjcmV0LWtleQ==";

/// One store of the fake. The fake's first store comes from the builder
/// ([`crate::FakePortOneBuilder::store_id`], `api_secret`, `webhook_secret`, ...); more
/// are added with [`crate::FakePortOneBuilder::store`].
///
/// A store without an own API secret belongs to the first store's merchant: the first
/// secret reaches both, and calls must then name `storeId`. A store with its own secret
/// is another merchant's: only that secret reaches it (the first store's secret gets
/// `403 FORBIDDEN` for it, and its secret `403` for the first store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    pub(crate) id: String,
    pub(crate) api_secret: Option<String>,
    pub(crate) webhook_url: Option<String>,
    pub(crate) webhook_secret: Option<String>,
    pub(crate) webhook_version: WebhookVersion,
}

impl StoreSettings {
    /// A store with id `id` (PortOne's look like `store-<uuid>`), webhooks to the fake's
    /// webhook URL, signed with a random secret, version `2024-04-25`.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            api_secret: None,
            webhook_url: None,
            webhook_secret: None,
            webhook_version: WebhookVersion::default(),
        }
    }

    /// Makes the store another merchant's, reached only with `secret`.
    #[must_use]
    pub fn api_secret(mut self, secret: impl Into<String>) -> Self {
        self.api_secret = Some(secret.into());
        self
    }

    /// Sends this store's webhooks to `url` (default: the fake's webhook URL).
    #[must_use]
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// Signs this store's webhooks with `secret` (`whsec_` + base64; default random).
    #[must_use]
    pub fn webhook_secret(mut self, secret: impl Into<String>) -> Self {
        self.webhook_secret = Some(secret.into());
        self
    }

    /// The body version of this store's webhooks (default `2024-04-25`).
    #[must_use]
    pub fn webhook_version(mut self, version: WebhookVersion) -> Self {
        self.webhook_version = version;
        self
    }

    /// The store id.
    pub fn id(&self) -> &str {
        &self.id
    }
}
