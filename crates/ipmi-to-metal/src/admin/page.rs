//! The status page: `/` (HTML), `/page.js`, `/live-console.js` and `/page.css`, and the
//! terminal of its live console, xterm.js (`/xterm.js`, `/xterm.css`, its licence at
//! `/xterm-LICENSE.txt`): static files compiled into the program. xterm.js is vendored from npm (`@xterm/xterm`) under
//! `page/vendor/`, committed with its licence so that a build needs no network;
//! `page/vendor/refresh-xterm.sh` fetches another version. No file comes from elsewhere (no
//! CDN). They hold no data and are served without the token; the script asks for the token
//! (a form, or `#token=...` in the address, which never reaches a server and which the script
//! moves out of the address at once), keeps it in the tab's `sessionStorage`, and sends it as
//! `Authorization: Bearer` with every request for data (`GET /bmcs` every few seconds, a
//! console's tail). Nothing of a BMC is shown without it, and no token is ever in a URL that is
//! sent or logged. A strict Content-Security-Policy allows this origin's script and style only;
//! the script writes data into the page as text, never as HTML.

use super::AdminState;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

/// The paths of the page's static files, served without the token.
pub const STATIC: &[&str] = &[
    "/",
    "/page.js",
    "/page.css",
    "/live-console.js",
    "/xterm.js",
    "/xterm.css",
    "/xterm-LICENSE.txt",
    "/favicon.ico",
];

const HTML: &str = include_str!("page/index.html");
const JS: &str = include_str!("page/page.js");
const CSS: &str = include_str!("page/page.css");
const LIVE_CONSOLE_JS: &str = include_str!("page/live-console.js");
const XTERM_JS: &str = include_str!("page/vendor/xterm.js");
const XTERM_CSS: &str = include_str!("page/vendor/xterm.css");
const XTERM_LICENSE: &str = include_str!("page/vendor/LICENSE-xterm");

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The files served: path, content type, body.
const FILES: &[(&str, &str, &str)] = &[
    ("/", "text/html; charset=utf-8", HTML),
    ("/page.js", "text/javascript; charset=utf-8", JS),
    ("/page.css", "text/css; charset=utf-8", CSS),
    (
        "/live-console.js",
        "text/javascript; charset=utf-8",
        LIVE_CONSOLE_JS,
    ),
    ("/xterm.js", "text/javascript; charset=utf-8", XTERM_JS),
    ("/xterm.css", "text/css; charset=utf-8", XTERM_CSS),
    (
        "/xterm-LICENSE.txt",
        "text/plain; charset=utf-8",
        XTERM_LICENSE,
    ),
];

/// The page's routes.
pub fn routes() -> Router<AdminState> {
    let mut router = Router::new()
        // None: said at once, so that browsers do not ask for it with every page (401).
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }));
    for &(path, content_type, body) in FILES {
        router = router.route(path, get(move || async move { file(content_type, body) }));
    }
    router
}

fn file(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::REFERRER_POLICY, "no-referrer"),
            // no-store and nosniff: on every answer of the admin server (its router).
        ],
        body,
    )
}

#[cfg(test)]
mod tests {
    /// Every file served is served without the token (and nothing else is).
    #[test]
    fn the_static_paths_are_the_files_and_the_icon() {
        let mut files: Vec<&str> = super::FILES.iter().map(|f| f.0).collect();
        files.push("/favicon.ico");
        assert_eq!(files, super::STATIC);
    }
}
