//! [`BenchError`]: why a run could not be made (as opposed to operations that failed,
//! which are counted in the table).

/// A run that could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A fake, the server, a client or the preload could not be started.
    #[error("setup failed: {0}")]
    Setup(String),
}
