//! Why a Redfish call failed, how transport failures are told apart (a certificate refused is
//! not a service that is down), and the service's own error message.

use std::time::Duration;

/// Why a call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 401 (after a fresh login, for a session), or a login refused.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 404.
    #[error("not found: {0}")]
    NotFound(String),
    /// 412 (the ETag has changed) or 428 (the service wants `If-Match`).
    #[error("precondition ({status}): {message}")]
    Precondition {
        /// HTTP status.
        status: u16,
        /// The service's message.
        message: String,
    },
    /// Another 4xx, or 501: the service refuses the request as it is.
    #[error("refused ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The service's message.
        message: String,
    },
    /// 429, or a rate limit known to be exhausted.
    #[error("rate limited for {0:?}")]
    RateLimited(Duration),
    /// 5xx after every retry.
    #[error("service error {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The service's message.
        message: String,
    },
    /// No answer in time.
    #[error("no answer in time: {0}")]
    Timeout(String),
    /// The connection could not be made: the request was never sent.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The service's certificate was refused (unknown issuer, wrong name, expired...).
    #[error("TLS: {0}")]
    Tls(String),
    /// Reset, a broken answer...: the request may have been carried out.
    #[error("transport error: {0}")]
    Transport(String),
    /// The answer was not what Redfish describes.
    #[error("unexpected answer: {0}")]
    Decode(String),
}

/// A reqwest error as an [`ApiError`], with the whole chain of causes in its message (the
/// outermost says only "error sending request"; the cause says which certificate check failed).
pub fn transport(e: reqwest::Error) -> ApiError {
    let (timeout, connect) = (e.is_timeout(), e.is_connect());
    // Without the URL: it holds nothing secret, but the message is for a log line.
    let e = e.without_url();
    let mut msg = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !msg.contains(&text) {
            msg = format!("{msg}: {text}");
        }
        cause = c.source();
    }
    let lower = msg.to_lowercase();
    if lower.contains("certificate") || lower.contains("handshake") || lower.contains("tls") {
        ApiError::Tls(msg)
    } else if connect {
        ApiError::Connect(msg)
    } else if timeout {
        ApiError::Timeout(msg)
    } else {
        ApiError::Transport(msg)
    }
}

/// A Redfish error's message (`error.message` and the first `@Message.ExtendedInfo` message),
/// or the start of the body.
pub fn error_message(bytes: &[u8]) -> String {
    let text = || String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return text();
    };
    let Some(err) = v.get("error") else {
        return text();
    };
    let main = err
        .get("message")
        .and_then(|m| m.as_str())
        .unwrap_or_default();
    let extended = err
        .get("@Message.ExtendedInfo")
        .and_then(|x| x.get(0))
        .and_then(|x| x.get("Message"))
        .and_then(|m| m.as_str());
    match extended {
        Some(x) if !main.is_empty() && x != main => format!("{main} ({x})"),
        Some(x) => x.to_string(),
        None if !main.is_empty() => main.to_string(),
        None => text(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redfish_error_messages() {
        let body = br#"{"error":{"code":"Base.1.8.GeneralError","message":"A general error has occurred.","@Message.ExtendedInfo":[{"MessageId":"Base.1.8.PreconditionRequired","Message":"A precondition header or annotation is required to change the resource."}]}}"#;
        assert_eq!(
            error_message(body),
            "A general error has occurred. (A precondition header or annotation is required to change the resource.)"
        );
        assert_eq!(error_message(br#"{"error":{"message":"nope"}}"#), "nope");
        assert_eq!(error_message(b"plain"), "plain");
    }
}
