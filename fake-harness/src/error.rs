//! [`FakeError`]: the one error type of every fake's Rust API.

/// Why a fake could not start, or why a library call on its handle was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FakeError {
    /// Binding the socket, building the runtime or spawning the server thread failed.
    #[error("{fake} could not start: {source}")]
    Start {
        /// Which fake, e.g. `fake-toss`.
        fake: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The call was refused the way the HTTP API would refuse it.
    #[error("{fake} refused ({status} {code}): {message}")]
    Refused {
        /// Which fake.
        fake: &'static str,
        /// The HTTP status the API would answer.
        status: u16,
        /// The vendor's error code (`NOT_FOUND_PAYMENT`, `-1`, ...).
        code: String,
        /// The vendor's message, naming the field or state at fault.
        message: String,
    },
}

impl FakeError {
    /// The HTTP status of a refusal (`None` for a start failure).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Refused { status, .. } => Some(*status),
            Self::Start { .. } => None,
        }
    }

    /// The vendor error code of a refusal (`None` for a start failure).
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { code, .. } => Some(code),
            Self::Start { .. } => None,
        }
    }

    /// The message of a refusal (`None` for a start failure).
    pub fn message(&self) -> Option<&str> {
        match self {
            Self::Refused { message, .. } => Some(message),
            Self::Start { .. } => None,
        }
    }
}
