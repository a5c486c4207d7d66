//! The status page: `/` (HTML), `/page.js` and `/page.css`, static files compiled into the
//! program. They hold no data and are served without the token; the script asks for the token
//! (a form, or `#token=...` in the address, which never reaches a server and which the script
//! moves out of the address at once), keeps it in the tab's `sessionStorage`, and sends it as
//! `Authorization: Bearer` with every request for data (`GET /bmcs` every few seconds, a
//! console's tail). Nothing of a BMC is shown without it, and no token is ever in a URL that is
//! sent or logged. A strict Content-Security-Policy allows this origin's script and style only;
//! the script writes data into the page as text, never as HTML.

use super::AdminState;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

/// The paths of the page's static files, served without the token.
pub const STATIC: &[&str] = &["/", "/page.js", "/page.css"];

const HTML: &str = include_str!("page/index.html");
const JS: &str = include_str!("page/page.js");
const CSS: &str = include_str!("page/page.css");

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page's routes.
pub fn routes() -> Router<AdminState> {
    Router::new()
        .route(
            "/",
            get(|| async { file("text/html; charset=utf-8", HTML) }),
        )
        .route(
            "/page.js",
            get(|| async { file("text/javascript; charset=utf-8", JS) }),
        )
        .route(
            "/page.css",
            get(|| async { file("text/css; charset=utf-8", CSS) }),
        )
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
