//! The one check every link from a Redfish service passes before the client follows it.
//!
//! The client builds each URL as the configured origin followed by a path, and every path but
//! the service root comes from the service itself: `Links.Sessions`, the Systems members, the
//! Reset action's `target` and `@Redfish.ActionInfo`, the session's `@odata.id` or `Location`,
//! task monitors, `Members@odata.nextLink`. A service (or whoever answers in its place) that
//! sends `@127.0.0.1:8080/...` would otherwise turn `https://bmc` into
//! `https://bmc@127.0.0.1:8080/...`, another host, and the login (user name and password) or
//! the session token would go there. So a link is followed only if it is a path on the same
//! origin: it starts with exactly one `/` (or is the origin itself followed by such a path),
//! and holds no `@`, no backslash, no control character and no `.`/`..` segment (plain or
//! percent-encoded). The URL built from it is parsed again and its scheme, host and port
//! compared with the origin's, so that the string rules and the URL parser cannot disagree.

use crate::errors::ApiError;

/// `link` as a path of the service at `origin` (`https://host[:port]`, no path), or why it is
/// refused. `link` may be a path (`/redfish/v1/...`) or an absolute URL on `origin`.
pub fn service_path(origin: &str, link: &str) -> Result<String, ApiError> {
    let path = match link.strip_prefix(origin) {
        Some(rest) if rest.starts_with('/') => rest,
        _ => link,
    };
    check_path(path).map_err(|why| refused(link, why))?;
    let url = format!("{origin}{path}");
    let same = match (reqwest::Url::parse(origin), reqwest::Url::parse(&url)) {
        (Ok(o), Ok(u)) => {
            o.scheme() == u.scheme()
                && o.host_str() == u.host_str()
                && o.port_or_known_default() == u.port_or_known_default()
                && u.username().is_empty()
                && u.password().is_none()
        }
        _ => false,
    };
    if !same {
        return Err(refused(link, "it does not stay on the service's origin"));
    }
    Ok(path.to_string())
}

/// The URL of `link` on `origin`, checked by [`service_path`].
pub fn service_url(origin: &str, link: &str) -> Result<String, ApiError> {
    service_path(origin, link).map(|p| format!("{origin}{p}"))
}

fn refused(link: &str, why: &str) -> ApiError {
    // `{:?}`: the link comes from the service and goes into a log line.
    ApiError::Decode(format!(
        "the service's link {link:?} is not followed: {why} (only paths on the same service are)"
    ))
}

/// Why `path` is not a plain absolute path, if it is not.
fn check_path(path: &str) -> Result<(), &'static str> {
    if !path.starts_with('/') {
        return Err("it does not start with /");
    }
    if path.starts_with("//") {
        return Err("it starts with // (another host)");
    }
    if path.contains('@') {
        return Err("it holds @ (credentials or another host)");
    }
    if path.contains('\\') {
        return Err("it holds a backslash");
    }
    if path.chars().any(char::is_control) {
        return Err("it holds a control character");
    }
    if http_support::paths::has_dot_segment(path) {
        return Err("it holds a . or .. segment");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const O: &str = "https://10.0.0.1";

    #[test]
    fn paths_on_the_service_are_followed() {
        for ok in [
            "/redfish/v1/SessionService/Sessions",
            "/redfish/v1/Systems/system/LogServices/SEL/Entries?$skip=50",
            "/redfish/v1/Systems/a.b/x..y",
        ] {
            assert_eq!(service_path(O, ok).unwrap(), ok);
        }
        assert_eq!(
            service_path(O, "https://10.0.0.1/redfish/v1/x").unwrap(),
            "/redfish/v1/x"
        );
        assert_eq!(
            service_url("http://127.0.0.1:8000", "/redfish/v1").unwrap(),
            "http://127.0.0.1:8000/redfish/v1"
        );
    }

    #[test]
    fn links_elsewhere_are_refused() {
        for bad in [
            "@127.0.0.1:38002/redfish/v1/SessionService/Sessions",
            "/@127.0.0.1/x",
            "//evil/redfish/v1",
            "https://evil/redfish/v1",
            "https://10.0.0.1.evil/redfish/v1",
            "https://10.0.0.1@evil/redfish/v1",
            "https://10.0.0.1:8443/redfish/v1",
            ":8443/redfish/v1",
            ".evil/redfish/v1",
            "redfish/v1",
            "",
            "/redfish\\v1",
            "/\\evil/x",
            "/redfish/v1\r\nX-Forged: 1",
            "/redfish/v1\t",
            "/redfish/v1/../../admin",
            "/redfish/v1/./x",
            "/redfish/v1/%2e%2E/x",
            "/redfish/v1/%2E/x",
            "/redfish/v1/..?x=1",
        ] {
            let e = service_path(O, bad).expect_err(bad);
            assert!(e.to_string().contains("is not followed"), "{bad}: {e}");
        }
    }
}
