//! [`serve`]: accepts connections and serves each on hyper's HTTP/1.1 connection.
//!
//! Not `axum::serve`: that one detects HTTP/2 on every connection, wraps each one for
//! upgrades and clones its service per request through `tower`, which a profile of the
//! lookup bench put at about 7% of a fake's thread. A fake speaks only what
//! the PGs' APIs speak, HTTP/1.1 request and answer, so it serves hyper's connection
//! directly (as the bench's floor does).

use std::convert::Infallible;
use std::time::Duration;

use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// How long to wait before accepting again after an error that is not one connection's
/// own (out of file descriptors, say), so the loop does not spin while it lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `service` on every connection `listener` accepts; never returns (the fake
/// stops by dropping this future and its runtime, which closes every connection).
pub(crate) async fn serve<S>(listener: TcpListener, service: S)
where
    S: hyper::service::Service<http::Request<Incoming>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "fake: accept failed; retrying");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        // Small request/answer exchanges: do not let Nagle hold an answer back.
        let _ = tcp.set_nodelay(true);
        let service = service.clone();
        tokio::spawn(async move {
            // A connection's end, clean or not, is the client's business.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

/// An error of the one connection being accepted (the next accept is unaffected).
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
