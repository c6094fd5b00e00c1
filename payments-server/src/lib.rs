//! The integrated payment server (being built).
