//! The jobs subsystem on the embedded SQLite store: lifecycle, limits, cancellation, failures,
//! crash recovery, competing workers, listing, and the built-in handlers end to end.

mod handlers;
mod lifecycle;
mod recovery;
mod support;
