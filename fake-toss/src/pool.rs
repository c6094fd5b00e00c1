//! Pre-started server threads, so `start()` pays neither for a thread spawn nor for
//! `bind(127.0.0.1:0)` — the two costly parts of starting (a bind alone can take
//! milliseconds once many sockets sit in TIME_WAIT, as in a busy test run).
//!
//! A keeper thread keeps [`SPARES`] idle threads ready, each with a fresh tokio runtime and
//! a freshly bound loopback listener, waiting for a job. A default `start()` takes a spare
//! and asks the keeper for a replacement; with no spare ready (or a non-default address) it
//! binds and spawns itself. Unlike wiremock's pool, nothing is reused: each runtime and
//! listener serves exactly one fake and is dropped with it, so no state, connection or port
//! carries over from one test to the next.

use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::runtime::Runtime;
use tokio::sync::{mpsc as tmpsc, oneshot};

use crate::lock;
use crate::state::Shared;
use crate::webhook::{Event, WebhookHub};

/// How many idle server threads to keep ready.
const SPARES: usize = 2;

/// How long the keeper waits after a spare was taken before it makes a new one.
const REFILL_DELAY: std::time::Duration = std::time::Duration::from_millis(2);

/// Where a server thread finds the state of the fake it serves, once `start()` claims it.
pub(crate) type Slot = Arc<OnceLock<Arc<Shared>>>;

/// What a claimed server thread needs besides its state.
pub(crate) struct Started {
    pub hub: Arc<WebhookHub>,
    pub events: tmpsc::UnboundedReceiver<Event>,
    pub stop: oneshot::Receiver<()>,
    pub done: oneshot::Sender<()>,
}

/// A server thread already accepting on its listener, and how to claim it.
struct Spare {
    addr: SocketAddr,
    slot: Slot,
    start: oneshot::Sender<Started>,
}

struct Pool {
    spares: Mutex<Vec<Spare>>,
    keeper: Mutex<Sender<()>>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<()>();
        // Without a keeper every start binds and spawns itself; correctness is unaffected.
        let _ = std::thread::Builder::new()
            .name("fake-toss-pool".into())
            .spawn(move || keep(&rx));
        // Fill the pool straight away.
        let _ = tx.send(());
        Pool {
            spares: Mutex::new(Vec::new()),
            keeper: Mutex::new(tx),
        }
    })
}

/// Refills the pool each time it is asked to.
fn keep(asked: &Receiver<()>) {
    while asked.recv().is_ok() {
        // Let the fake that just started serve its first requests before competing with
        // it for the CPU (a thread spawn and a bind are the costly part of a start).
        std::thread::sleep(REFILL_DELAY);
        while lock(&pool().spares).len() < SPARES {
            let Ok(spare) = server_thread("127.0.0.1", 0) else {
                return;
            };
            lock(&pool().spares).push(spare);
        }
    }
}

/// Binds, then starts a thread whose runtime serves the listener at once (answering
/// through the slot) and waits to be claimed; once claimed it runs the webhook dispatcher
/// until told to stop. Dropping the runtime at the end cancels every open connection.
fn server_thread(host: &str, port: u16) -> std::io::Result<Spare> {
    let listener = TcpListener::bind((host, port))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let rt: Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let slot: Slot = Arc::default();
    let (start_tx, start_rx) = oneshot::channel::<Started>();
    let served = slot.clone();
    std::thread::Builder::new()
        .name("fake-toss-server".into())
        .spawn(move || {
            let done = rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).ok()?;
                tokio::spawn(crate::routes::serve(listener, served));
                // An unclaimed spare (the process is exiting) just ends here.
                let started = start_rx.await.ok()?;
                tokio::spawn(crate::webhook::run_dispatcher(started.hub, started.events));
                let _ = started.stop.await;
                Some(started.done)
            });
            drop(rt);
            if let Some(done) = done {
                let _ = done.send(());
            }
        })?;
    Ok(Spare {
        addr,
        slot,
        start: start_tx,
    })
}

/// A bound, serving address waiting for the state of the fake it will serve.
pub(crate) struct Launcher(Spare);

impl Launcher {
    /// A server on `host:port`: a ready spare for `127.0.0.1:0`, else a new one.
    ///
    /// # Errors
    /// The bind, runtime or thread error when no spare can be used.
    pub(crate) fn prepare(host: &str, port: u16) -> std::io::Result<Self> {
        if host == "127.0.0.1" && port == 0 {
            let pool = pool();
            let spare = lock(&pool.spares).pop();
            let _ = lock(&pool.keeper).send(());
            if let Some(s) = spare {
                return Ok(Self(s));
            }
        }
        server_thread(host, port).map(Self)
    }

    /// The bound address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    /// Hands the fake's state to the server thread; requests are answered from now on.
    ///
    /// # Errors
    /// When the server thread is gone (it could not start its listener).
    pub(crate) fn launch(self, shared: Arc<Shared>, started: Started) -> std::io::Result<()> {
        let _ = self.0.slot.set(shared);
        self.0
            .start
            .send(started)
            .map_err(|_| std::io::Error::other("fake-toss: server thread is gone"))
    }
}
