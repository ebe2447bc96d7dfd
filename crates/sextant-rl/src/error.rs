//! The crate's error.

/// What can go wrong building an environment, training or loading a policy.
#[derive(Debug, thiserror::Error)]
pub enum RlError {
    /// A configuration value out of its range, named.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An action the environment's action space does not hold.
    #[error("invalid action: {0}")]
    Action(String),
    /// Too few bars for the requested episodes.
    #[error("not enough data: {0}")]
    Data(String),
    /// A tensor operation failed (shapes, a non-finite loss).
    #[error("tensor: {0}")]
    Tensor(#[from] candle_core::Error),
    /// A checkpoint that cannot be read or does not match its policy.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
}
