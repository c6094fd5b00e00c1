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
use std::sync::{Mutex, OnceLock};

use tokio::runtime::Runtime;

use crate::lock;

/// How many idle server threads to keep ready.
const SPARES: usize = 2;

/// The server's body, run on its own thread with its own runtime and listener.
pub(crate) type Job = Box<dyn FnOnce(Runtime, TcpListener) + Send>;

/// An idle thread waiting for its job, and the address its listener is bound to.
struct Spare {
    addr: SocketAddr,
    tx: Sender<Job>,
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

fn runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

fn bind(host: &str, port: u16) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind((host, port))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

fn spawn(rt: Runtime, listener: TcpListener, job: Job) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("fake-toss-server".into())
        .spawn(move || job(rt, listener))
        .map(drop)
}

/// Refills the pool each time it is asked to.
fn keep(asked: &Receiver<()>) {
    while asked.recv().is_ok() {
        while lock(&pool().spares).len() < SPARES {
            let Ok(spare) = make_spare() else { return };
            lock(&pool().spares).push(spare);
        }
    }
}

fn make_spare() -> std::io::Result<Spare> {
    let rt = runtime()?;
    let listener = bind("127.0.0.1", 0)?;
    let addr = listener.local_addr()?;
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("fake-toss-server".into())
        .spawn(move || {
            if let Ok(job) = rx.recv() {
                job(rt, listener);
            }
        })?;
    Ok(Spare { addr, tx })
}

/// A bound address and the means to start serving on it.
pub(crate) struct Launcher {
    addr: SocketAddr,
    how: How,
}

enum How {
    Spare(Sender<Job>),
    Fresh(Runtime, TcpListener),
}

impl Launcher {
    /// Reserves a listener on `host:port`: a ready spare for `127.0.0.1:0`, else a new bind.
    ///
    /// # Errors
    /// The bind or runtime error when no spare can be used.
    pub(crate) fn prepare(host: &str, port: u16) -> std::io::Result<Self> {
        if host == "127.0.0.1" && port == 0 {
            let pool = pool();
            let spare = lock(&pool.spares).pop();
            let _ = lock(&pool.keeper).send(());
            if let Some(s) = spare {
                return Ok(Self {
                    addr: s.addr,
                    how: How::Spare(s.tx),
                });
            }
        }
        let listener = bind(host, port)?;
        Ok(Self {
            addr: listener.local_addr()?,
            how: How::Fresh(runtime()?, listener),
        })
    }

    /// The bound address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Runs `job` on the server thread.
    ///
    /// # Errors
    /// When the thread cannot be spawned, or a spare's thread is gone.
    pub(crate) fn launch(self, job: Job) -> std::io::Result<()> {
        match self.how {
            How::Spare(tx) => tx
                .send(job)
                .map_err(|_| std::io::Error::other("fake-toss: spare server thread is gone")),
            How::Fresh(rt, listener) => spawn(rt, listener, job),
        }
    }
}
