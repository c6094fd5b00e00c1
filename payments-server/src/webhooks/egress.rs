//! Calls to addresses a caller chose (a history's `webhook_url`, the `[events] url`).
//!
//! Anyone holding an envelope key names such a URL, so without a guard the server is a
//! way into its own network (blind SSRF): its loopback admin ports, the cloud metadata
//! service, private hosts. The guard has three parts:
//!
//! - [`EgressPolicy::check_url`] refuses, before any connection, a scheme other than
//!   https (unless `allow_insecure`) and an IP literal in a refused range. Literals must
//!   be checked here because a client never asks a resolver about them.
//! - The client's resolver ([`GuardedResolver`]) checks every address a host name
//!   resolves to, at connect time: the addresses checked are the ones connected to, so a
//!   DNS answer that changes between a check and the connection cannot get through.
//! - The client follows no redirect and uses no proxy, and [`read_capped`] reads at most
//!   a few KiB of an answer.
//!
//! Hosts listed in `[webhooks] allow_hosts` skip the range checks (tests and local
//! development deliver to `127.0.0.1`).

use futures::FutureExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Why an outgoing call was refused before it was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressRefusal {
    /// The URL's scheme is not allowed.
    #[error("scheme {0:?} is refused: webhooks are delivered over https only")]
    Scheme(String),
    /// The URL names no host.
    #[error("the URL names no host")]
    NoHost,
    /// The host is, or resolves only to, an address the server does not call.
    #[error("host {0} is a loopback, private, link-local or otherwise non-public address")]
    NonPublic(String),
}

/// Which destinations outgoing calls may reach.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    allow_hosts: Arc<HashSet<String>>,
    allow_insecure: bool,
}

impl EgressPolicy {
    /// A policy that allows the listed hosts whatever their address (compared without
    /// case; an IP literal as written in a URL, IPv6 without brackets) and plain http
    /// only when `allow_insecure`.
    pub fn new<I, S>(allow_hosts: I, allow_insecure: bool) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let allow_hosts = allow_hosts
            .into_iter()
            .map(|host| normalise_host(host.as_ref()))
            .collect();
        Self {
            allow_hosts: Arc::new(allow_hosts),
            allow_insecure,
        }
    }

    fn allows_host(&self, host: &str) -> bool {
        self.allow_hosts.contains(&normalise_host(host))
    }

    /// Checks what can be checked before connecting: the scheme, and an IP literal.
    ///
    /// # Errors
    /// [`EgressRefusal`] naming what is refused.
    pub fn check_url(&self, url: &url::Url) -> Result<(), EgressRefusal> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_insecure => {}
            other => return Err(EgressRefusal::Scheme(other.to_owned())),
        }
        let host = url.host().ok_or(EgressRefusal::NoHost)?;
        let literal = match host {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        };
        let written = url.host_str().unwrap_or_default();
        match literal {
            Some(ip) if !is_public(ip) && !self.allows_host(written) => {
                Err(EgressRefusal::NonPublic(written.to_owned()))
            }
            _ => Ok(()),
        }
    }

    /// The HTTP client for outgoing calls under this policy: no redirects, no proxy,
    /// every resolved address checked, a time limit on every call.
    ///
    /// # Errors
    /// When the TLS backend cannot be initialised.
    pub fn client(&self, timeout: Duration) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: self.clone(),
            }))
            .user_agent(concat!("payments-server/", env!("CARGO_PKG_VERSION")))
            .build()
    }
}

/// Lower case, without the brackets of an IPv6 literal or a trailing dot.
fn normalise_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Resolves with the system resolver and keeps only addresses the policy allows.
#[derive(Debug)]
struct GuardedResolver {
    policy: EgressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allowed = self.policy.allows_host(&host);
        async move {
            // Port 0: the client puts the URL's port in.
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let usable: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| allowed || is_public(addr.ip()))
                .collect();
            if usable.is_empty() {
                return Err(Box::new(EgressRefusal::NonPublic(host)) as _);
            }
            Ok(Box::new(usable.into_iter()) as Addrs)
        }
        .boxed()
    }
}

/// Whether an address is on the public internet: not loopback, unspecified, private,
/// shared (CGNAT), link-local (the cloud metadata services live there), multicast,
/// broadcast, reserved, documentation or benchmarking; IPv6 forms that embed an IPv4
/// address are judged by it.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space, CGNAT (Alibaba's metadata is here)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240; // reserved
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) and the deprecated IPv4-compatible form (::a.b.c.d) reach
    // an IPv4 address.
    if (segments[0] == 0x64 && segments[1] == 0xff9b && segments[2..6] == [0; 4])
        || (segments[..6] == [0; 6] && segments[6] != 0)
    {
        let [_, _, _, _, _, _, high, low] = segments;
        let v4 = Ipv4Addr::new((high >> 8) as u8, high as u8, (low >> 8) as u8, low as u8);
        return is_public_v4(v4);
    }
    let refused = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local (AWS's IPv6 metadata is here)
        || (segments[0] & 0xffc0) == 0xfe80 // link-local
        || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (segments[0] == 0x2001 && segments[1] == 0x0db8); // documentation
    !refused
}

/// Reads at most `limit` bytes of an answer as text (lossy) and drops the rest, so a
/// receiver answering megabytes costs the server a few KiB.
pub async fn read_capped(mut response: reqwest::Response, limit: usize) -> String {
    let mut kept = Vec::with_capacity(limit.min(4096));
    while kept.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit - kept.len();
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::response::Redirect;
    use axum::routing::{get, post};

    fn refused(text: &str) -> bool {
        !is_public(text.parse().unwrap())
    }

    #[test]
    fn refuses_every_non_public_range() {
        for ip in [
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.0.8",
            "198.18.0.1",
            "192.0.2.1",
            "::",
            "::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(refused(ip), "{ip} must be refused");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "203.0.114.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(!refused(ip), "{ip} is public");
        }
    }

    #[test]
    fn literals_are_checked_before_connecting_in_every_spelling() {
        let policy = EgressPolicy::new(Vec::<String>::new(), true);
        for url in [
            "http://127.0.0.1/hook",
            "http://2130706433/hook",
            "http://0x7f.1/hook",
            "http://0.0.0.0/hook",
            "http://[::1]:8080/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:7f00:1]/hook",
        ] {
            let parsed = url::Url::parse(url).unwrap();
            assert!(
                matches!(policy.check_url(&parsed), Err(EgressRefusal::NonPublic(_))),
                "{url} must be refused"
            );
        }
        let public = url::Url::parse("http://203.0.114.9/hook").unwrap();
        assert_eq!(policy.check_url(&public), Ok(()));
    }

    #[test]
    fn https_only_unless_insecure_is_allowed() {
        let strict = EgressPolicy::new(["127.0.0.1"], false);
        let http = url::Url::parse("http://shop.example/hook").unwrap();
        assert_eq!(
            strict.check_url(&http),
            Err(EgressRefusal::Scheme("http".into()))
        );
        let https = url::Url::parse("https://shop.example/hook").unwrap();
        assert_eq!(strict.check_url(&https), Ok(()));
        let ftp = url::Url::parse("ftp://shop.example/hook").unwrap();
        assert!(
            EgressPolicy::new(["shop.example"], true)
                .check_url(&ftp)
                .is_err()
        );
    }

    #[test]
    fn listed_hosts_skip_the_range_checks() {
        let policy = EgressPolicy::new(["127.0.0.1", "[::1]", "LocalHost"], true);
        for url in [
            "http://127.0.0.1:9/hook",
            "http://[::1]:9/hook",
            "http://localhost:9/hook",
        ] {
            assert_eq!(policy.check_url(&url::Url::parse(url).unwrap()), Ok(()));
        }
    }

    async fn serve(router: Router) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        addr
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_at_connect_time() {
        let addr = serve(Router::new().route("/hook", post(|| async { "ok" }))).await;
        // "localhost" passes the literal check (it is a name), but every address it
        // resolves to is loopback, so the resolver refuses it.
        let policy = EgressPolicy::new(Vec::<String>::new(), true);
        let url = url::Url::parse(&format!("http://localhost:{}/hook", addr.port())).unwrap();
        assert_eq!(policy.check_url(&url), Ok(()));
        let error = policy
            .client(Duration::from_secs(2))
            .unwrap()
            .post(url.clone())
            .send()
            .await
            .expect_err("loopback must not be reached");
        assert!(error.is_connect(), "{error:?}");

        let allowed = EgressPolicy::new(["localhost"], true);
        let answer = allowed
            .client(Duration::from_secs(2))
            .unwrap()
            .post(url)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let target = serve(Router::new().route("/steal", post(|| async { "stolen" }))).await;
        let to = format!("http://127.0.0.1:{}/steal", target.port());
        let addr = serve(Router::new().route(
            "/hook",
            post(move || {
                let to = to.clone();
                async move { Redirect::temporary(&to) }
            }),
        ))
        .await;
        let policy = EgressPolicy::new(["127.0.0.1"], true);
        let answer = policy
            .client(Duration::from_secs(2))
            .unwrap()
            .post(format!("http://127.0.0.1:{}/hook", addr.port()))
            .body("sealed")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 307, "the 307 is the answer, not followed");
    }

    #[tokio::test]
    async fn answers_are_read_up_to_the_cap() {
        let addr =
            serve(Router::new().route("/big", get(|| async { "x".repeat(8 * 1024 * 1024) }))).await;
        let policy = EgressPolicy::new(["127.0.0.1"], true);
        let answer = policy
            .client(Duration::from_secs(5))
            .unwrap()
            .get(format!("http://127.0.0.1:{}/big", addr.port()))
            .send()
            .await
            .unwrap();
        let text = read_capped(answer, 4096).await;
        assert_eq!(text.len(), 4096);
    }
}
