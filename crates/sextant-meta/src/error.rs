//! The one error type every backend reports, so callers can react to *what* went wrong
//! (a duplicate key, a bad input) without knowing which database is behind the trait.

/// Errors from a [`crate::MetaStore`].
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// A write would give two documents the same `_id`, or the same value of a field that has a
    /// unique index. Callers usually turn this into a 409 Conflict, so it is never folded into
    /// [`MetaError::Backend`].
    #[error("duplicate key in collection `{collection}`: {detail}")]
    Duplicate {
        /// The collection written to.
        collection: String,
        /// The `_id` or the backend's description of the conflicting key.
        detail: String,
    },
    /// A document that had to exist did not (see [`crate::MetaStore::get_required`]). Plain
    /// look-ups return `Option`/`bool` instead, because absence is an ordinary answer there.
    #[error("document `{id}` not found in collection `{collection}`")]
    NotFound {
        /// The collection searched.
        collection: String,
        /// The `_id` looked for.
        id: String,
    },
    /// The caller passed something no backend accepts: a bad collection name, a document that is
    /// not a JSON object, a non-string `_id`, a malformed field path or filter value. Both
    /// backends reject exactly the same inputs, so code tested on one runs on the other.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The database itself failed (I/O, lock time-out, lost connection, corrupt row). The text
    /// names the backend and carries its message.
    #[error("backend error: {0}")]
    Backend(String),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = MetaError> = std::result::Result<T, E>;

pub(crate) fn invalid(msg: impl Into<String>) -> MetaError {
    MetaError::Invalid(msg.into())
}
