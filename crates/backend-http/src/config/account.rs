//! The account: credentials, variables and extra headers, each from the user's table over the
//! preset's.

use super::HttpToml;
use crate::client::Auth;
use crate::placeholder::{Value, Vars, BOOT_VARS, MEDIA_VARS};
use backend_config::{secret_from, ConfigError, Source, Spanned};
use std::collections::BTreeMap;
use std::ops::Range;
use zeroize::Zeroizing;

pub(super) type Pick<'a> = dyn Fn(&Option<Spanned<String>>, &Option<Spanned<String>>) -> Option<(String, Range<usize>, bool)>
    + 'a;

/// The credentials: `auth` (bearer, basic, header or none), `user` for basic, `header` for a
/// named header, and the secret from the environment or a file.
pub(super) fn auth(
    src: &Source,
    span: Range<usize>,
    u: &HttpToml,
    p: &HttpToml,
    pick: &Pick,
) -> Result<Auth, ConfigError> {
    let (kind, kind_at, _) = pick(&u.auth, &p.auth).unwrap_or(("none".into(), span.clone(), true));
    let secret = secret_from(src, "secret", u.secret_env.as_ref(), u.secret_file.as_ref())?
        .map(|s| {
            String::from_utf8(s.expose().to_vec())
                .ok()
                .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
                .map(Zeroizing::new)
                .ok_or_else(|| src.err(span.clone(), "the secret must be printable ASCII"))
        })
        .transpose()?;
    let need = |secret: Option<Zeroizing<String>>| {
        secret.ok_or_else(|| {
            src.err(
                span.clone(),
                format!("auth = {kind:?} needs secret_env or secret_file"),
            )
        })
    };
    Ok(match kind.as_str() {
        "none" => Auth::None,
        "bearer" => Auth::Bearer(need(secret)?),
        "basic" => {
            let (user, _, _) = pick(&u.user, &p.user).ok_or_else(|| {
                src.err(
                    span.clone(),
                    "auth = \"basic\" needs user (the API's user name)",
                )
            })?;
            if user.contains(':') || user.chars().any(char::is_control) {
                return Err(src.err(span, "user must not hold ':' or control characters"));
            }
            Auth::Basic {
                user,
                secret: need(secret)?,
            }
        }
        "header" => {
            let (name, at, _) = pick(&u.header, &p.header).ok_or_else(|| {
                src.err(
                    span.clone(),
                    "auth = \"header\" needs header (its name, e.g. X-Auth-Token)",
                )
            })?;
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(src.err(at, format!("header {name:?} is not a header name")));
            }
            Auth::Header {
                name,
                secret: need(secret)?,
            }
        }
        other => {
            return Err(src.err(
                kind_at,
                format!("auth {other:?}: bearer, basic, header or none"),
            ))
        }
    })
}

/// `server_id` and `vars`: the placeholders' values.
pub(super) fn vars(
    src: &Source,
    u: &HttpToml,
    p: &HttpToml,
    preset_at: Range<usize>,
) -> Result<Vars, ConfigError> {
    let mut vars = Vars::new();
    let layers = [
        p.vars.as_ref().map(|v| (v.get_ref(), preset_at)),
        u.vars.as_ref().map(|v| (v.get_ref(), v.span())),
    ];
    for (v, at) in layers.into_iter().flatten() {
        for (k, val) in v {
            if !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                || BOOT_VARS.contains(&k.as_str())
                || MEDIA_VARS.contains(&k.as_str())
                || k == "server_id"
            {
                return Err(src.err(at.clone(), format!("vars: {k:?} cannot be a variable's name (letters, digits and _; not server_id, a boot or a media variable)")));
            }
            vars.insert(k.clone(), Value::Text(val.clone()));
        }
    }
    if let Some(id) = &u.server_id {
        if id.get_ref().trim().is_empty() {
            return Err(src.err(id.span(), "server_id is empty"));
        }
        vars.insert(
            "server_id".into(),
            Value::Text(id.get_ref().trim().to_string()),
        );
    }
    Ok(vars)
}

/// `headers`: extra headers on every request, never the credentials'.
pub(super) fn headers(
    src: &Source,
    u: &HttpToml,
    p: &HttpToml,
    auth: &Auth,
    preset_at: Range<usize>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out: BTreeMap<String, (String, String)> = BTreeMap::new();
    let layers = [
        p.headers.as_ref().map(|h| (h.get_ref(), preset_at)),
        u.headers.as_ref().map(|h| (h.get_ref(), h.span())),
    ];
    for (h, at) in layers.into_iter().flatten() {
        for (k, v) in h {
            let lower = k.to_ascii_lowercase();
            let auth_header = match auth {
                Auth::Header { name, .. } => name.eq_ignore_ascii_case(k),
                _ => false,
            };
            if lower == "authorization" || auth_header {
                return Err(src.err(at.clone(), format!("headers: {k} carries the credentials: give auth and secret_env or secret_file")));
            }
            if reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_err()
                || reqwest::header::HeaderValue::from_str(v).is_err()
            {
                return Err(src.err(
                    at.clone(),
                    format!("headers: {k:?} = {v:?} is not a valid header"),
                ));
            }
            out.insert(lower, (k.clone(), v.clone()));
        }
    }
    Ok(out.into_values().collect())
}
