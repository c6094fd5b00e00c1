//! Pre-started server threads, so a start pays neither for a thread spawn and a runtime
//! nor for `bind(127.0.0.1:0)` — the costly parts of starting (a bind alone can take
//! milliseconds once many sockets sit in TIME_WAIT, as in a busy test run).
//!
//! A keeper thread keeps [`SPARES`] idle threads ready, each with a fresh current-thread
//! tokio runtime and a freshly bound loopback listener, waiting for a job. A default start
//! takes a spare and asks the keeper for a replacement; with no spare ready (or another
//! address) it binds and spawns itself. Nothing is ever reused: each runtime and listener
//! serves exactly one fake and is dropped with it, so no state, connection or port carries
//! over from one test to the next. The pool is shared by every fake in the process.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::pin::Pin;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, OnceLock};

use tokio::sync::oneshot;

use crate::lock;

/// How many idle server threads to keep ready.
const SPARES: usize = 2;

/// How long the keeper waits after a spare was taken before it makes a new one, so the
/// fake that just started serves its first requests before competing for the CPU.
const REFILL_DELAY: std::time::Duration = std::time::Duration::from_millis(2);

/// What a claimed thread runs on its runtime with its listener; it returns when the fake
/// stops.
pub(crate) type Job =
    Box<dyn FnOnce(tokio::net::TcpListener) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// A server thread with a bound listener, waiting for its job.
pub(crate) struct Spare {
    pub(crate) addr: SocketAddr,
    job: oneshot::Sender<(Job, oneshot::Sender<()>)>,
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
            .name("fake-harness-pool".into())
            .spawn(move || keep(&rx));
        let _ = tx.send(());
        Pool {
            spares: Mutex::new(Vec::new()),
            keeper: Mutex::new(tx),
        }
    })
}

fn keep(asked: &Receiver<()>) {
    while asked.recv().is_ok() {
        std::thread::sleep(REFILL_DELAY);
        while lock(&pool().spares).len() < SPARES {
            let Ok(spare) = server_thread(IpAddr::V4(Ipv4Addr::LOCALHOST), 0) else {
                return;
            };
            lock(&pool().spares).push(spare);
        }
    }
}

/// Binds, then starts a thread with its own runtime that waits to be given a job, runs it,
/// drops the runtime (cancelling every open connection and pending task) and reports done.
fn server_thread(host: IpAddr, port: u16) -> std::io::Result<Spare> {
    let listener = TcpListener::bind((host, port))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (job_tx, job_rx) = oneshot::channel::<(Job, oneshot::Sender<()>)>();
    std::thread::Builder::new()
        .name("fake-harness-server".into())
        .spawn(move || {
            let done = rt.block_on(async move {
                // An unclaimed spare (the process is exiting) just ends here.
                let (job, done) = job_rx.await.ok()?;
                let listener = tokio::net::TcpListener::from_std(listener).ok()?;
                job(listener).await;
                Some(done)
            });
            rt.shutdown_background();
            if let Some(done) = done {
                let _ = done.send(());
            }
        })?;
    Ok(Spare { addr, job: job_tx })
}

/// A server thread on `host:port`: a ready spare for `127.0.0.1:0`, else a new one.
///
/// # Errors
/// The bind, runtime or thread error when no spare can be used.
pub(crate) fn take(host: IpAddr, port: u16) -> std::io::Result<Spare> {
    if host == IpAddr::V4(Ipv4Addr::LOCALHOST) && port == 0 {
        let pool = pool();
        let spare = lock(&pool.spares).pop();
        let _ = lock(&pool.keeper).send(());
        if let Some(s) = spare {
            return Ok(s);
        }
    }
    server_thread(host, port)
}

impl Spare {
    /// Hands the job to the thread; `done` fires once the thread has stopped.
    ///
    /// # Errors
    /// When the server thread is gone.
    pub(crate) fn run(self, job: Job, done: oneshot::Sender<()>) -> std::io::Result<()> {
        self.job
            .send((job, done))
            .map_err(|_| std::io::Error::other("the server thread is gone"))
    }
}
