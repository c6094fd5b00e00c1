//! Pre-spawned server threads, so `start()` does not pay for a thread spawn (the costliest
//! part of starting, ~0.2 ms on a small machine).
//!
//! A keeper thread keeps [`SPARES`] idle threads, each with a fresh tokio runtime, waiting
//! for a job. `start()` hands its server to a spare and asks the keeper for a replacement;
//! with no spare left it spawns a thread itself. Unlike wiremock's pool, nothing is reused:
//! every runtime serves exactly one fake and is dropped with it, so no state, connection or
//! port carries over from one test to the next.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, OnceLock};

use tokio::runtime::Runtime;

use crate::lock;

/// How many idle server threads to keep ready.
const SPARES: usize = 2;

/// The server's body, run on its own thread with its own runtime.
pub(crate) type Job = Box<dyn FnOnce(Runtime) + Send>;

struct Pool {
    spares: Mutex<Vec<Sender<Job>>>,
    keeper: Mutex<Sender<()>>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<()>();
        let keeper = std::thread::Builder::new()
            .name("fake-toss-pool".into())
            .spawn(move || keep(&rx));
        if keeper.is_err() {
            // No keeper: every start spawns its own thread; correctness is unaffected.
        }
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

/// Refills the pool each time it is asked to.
fn keep(asked: &Receiver<()>) {
    while asked.recv().is_ok() {
        loop {
            let have = lock(&pool().spares).len();
            if have >= SPARES {
                break;
            }
            let Ok(rt) = runtime() else { return };
            let (tx, rx) = mpsc::channel::<Job>();
            let spawned = std::thread::Builder::new()
                .name("fake-toss-server".into())
                .spawn(move || {
                    if let Ok(job) = rx.recv() {
                        job(rt);
                    }
                });
            if spawned.is_err() {
                return;
            }
            lock(&pool().spares).push(tx);
        }
    }
}

/// Runs `job` on a server thread of its own: a spare if one is ready, else a new one.
///
/// # Errors
/// When no spare is ready and a runtime or thread cannot be created.
pub(crate) fn run(job: Job) -> std::io::Result<()> {
    let pool = pool();
    let spare = lock(&pool.spares).pop();
    let _ = lock(&pool.keeper).send(());
    let job = match spare {
        Some(tx) => match tx.send(job) {
            Ok(()) => return Ok(()),
            Err(mpsc::SendError(job)) => job,
        },
        None => job,
    };
    let rt = runtime()?;
    std::thread::Builder::new()
        .name("fake-toss-server".into())
        .spawn(move || job(rt))?;
    Ok(())
}
