//! Slack request signing (<https://api.slack.com/authentication/verifying-requests-from-slack>):
//! `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` keyed with the app's signing secret,
//! compared in constant time; requests older (or newer) than five minutes are refused so a
//! captured request cannot be replayed.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Largest clock difference accepted between Slack's timestamp and ours, in seconds.
pub const MAX_SKEW_SECS: i64 = 300;

/// Why a request is not from Slack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// A header is missing or not in Slack's format.
    #[error("malformed Slack request: {0}")]
    Malformed(String),
    /// The timestamp is more than five minutes from now.
    #[error("stale Slack request timestamp")]
    Stale,
    /// The signature does not match.
    #[error("Slack signature mismatch")]
    BadSignature,
}

/// Checks a request's `X-Slack-Signature` against its `X-Slack-Request-Timestamp` and raw
/// body; `now` is the current Unix time in seconds.
///
/// # Errors
///
/// [`SlackError`] saying which check failed.
pub fn verify(
    signing_secret: &str,
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: i64,
) -> Result<(), SlackError> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SlackError::Malformed("X-Slack-Request-Timestamp is not a number".into()))?;
    if (now - ts).abs() > MAX_SKEW_SECS {
        return Err(SlackError::Stale);
    }
    let hex_sig = signature
        .strip_prefix("v0=")
        .ok_or_else(|| SlackError::Malformed("X-Slack-Signature does not start with v0=".into()))?;
    let given = hex::decode(hex_sig)
        .map_err(|_| SlackError::Malformed("X-Slack-Signature is not hex".into()))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_secret.as_bytes())
        .map_err(|_| SlackError::Malformed("signing secret unusable".into()))?;
    mac.update(b"v0:");
    mac.update(timestamp.trim().as_bytes());
    mac.update(b":");
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| SlackError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Example {
        signing_secret: String,
        timestamp: String,
        body: String,
        signature: String,
    }

    fn example() -> Example {
        serde_json::from_str(include_str!("../tests/golden/slack_signature_example.json"))
            .expect("example")
    }

    #[test]
    fn slacks_documented_example_verifies() {
        let e = example();
        let now: i64 = e.timestamp.parse().expect("ts");
        assert_eq!(
            verify(
                &e.signing_secret,
                &e.timestamp,
                e.body.as_bytes(),
                &e.signature,
                now + 10
            ),
            Ok(())
        );
    }

    #[test]
    fn a_changed_body_secret_or_stale_timestamp_is_refused() {
        let e = example();
        let now: i64 = e.timestamp.parse().expect("ts");
        let tampered = e.body.replace("roadrunner", "coyote");
        assert_eq!(
            verify(
                &e.signing_secret,
                &e.timestamp,
                tampered.as_bytes(),
                &e.signature,
                now
            ),
            Err(SlackError::BadSignature)
        );
        assert_eq!(
            verify(
                "another-secret",
                &e.timestamp,
                e.body.as_bytes(),
                &e.signature,
                now
            ),
            Err(SlackError::BadSignature)
        );
        assert_eq!(
            verify(
                &e.signing_secret,
                &e.timestamp,
                e.body.as_bytes(),
                &e.signature,
                now + 301
            ),
            Err(SlackError::Stale)
        );
        assert!(matches!(
            verify(
                &e.signing_secret,
                &e.timestamp,
                e.body.as_bytes(),
                "a2114d",
                now
            ),
            Err(SlackError::Malformed(_))
        ));
    }
}
