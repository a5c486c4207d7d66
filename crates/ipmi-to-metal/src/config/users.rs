//! The users of a BMC (`[[bmc.users]]`, `[[metal_discovery.users]]`) and their passwords.

use backend_config::{read_secret_file, ConfigError, Source};
use ipmi_proto::session::{Secret, User};
use ipmi_proto::types::Privilege;
use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;

/// One user as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserToml {
    name: Spanned<String>,
    password: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    privilege: Spanned<String>,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

/// The users of a BMC: IDs from 2 in file order (1 is the null user). `owner` and `table` name
/// the BMC and the users' table in errors.
pub(super) fn users(
    src: &Source,
    span: Range<usize>,
    owner: &str,
    table: &str,
    list: &[Spanned<UserToml>],
) -> Result<Vec<User>, ConfigError> {
    if list.is_empty() {
        return Err(src.err(span, format!("{owner} has no {table}: nobody could log in")));
    }
    if list.len() > 62 {
        return Err(src.err(span, "at most 62 users per BMC"));
    }
    // Sized exactly: the list is kept for the BMC's life (a pushed Vec would hold room for
    // four users, 170 bytes more for the usual one, in each of 10,000 BMCs).
    let mut users = Vec::with_capacity(list.len());
    for (i, u) in list.iter().enumerate() {
        let uspan = u.span();
        let u = u.get_ref();
        let uname = u.name.get_ref();
        if uname.is_empty() || uname.len() > 16 {
            return Err(src.err(
                u.name.span(),
                "user name must be 1 to 16 bytes (anonymous users are not supported)",
            ));
        }
        if users.iter().any(|x: &User| &x.name == uname) {
            return Err(src.err(u.name.span(), format!("duplicate user {uname:?}")));
        }
        let privilege = Privilege::from_name(u.privilege.get_ref())
            .filter(|p| *p != Privilege::Oem)
            .ok_or_else(|| {
                src.err(
                    u.privilege.span(),
                    format!(
                        "bad privilege {:?}: expected callback, user, operator or administrator",
                        u.privilege.get_ref()
                    ),
                )
            })?;
        let password = password(src, uspan, u)?;
        users.push(User {
            id: i as u8 + 2,
            name: uname.clone(),
            password,
            privilege,
            enabled: u.enabled,
        });
    }
    Ok(users)
}

/// The user's password: exactly one of `password`, `password_file`, `password_env`.
fn password(src: &Source, span: Range<usize>, u: &UserToml) -> Result<Secret, ConfigError> {
    let given = [
        u.password.is_some(),
        u.password_file.is_some(),
        u.password_env.is_some(),
    ];
    let count = given.iter().filter(|x| **x).count();
    if count == 0 {
        return Err(src.err(
            span,
            format!(
                "user {:?} has no password: give password, password_file or password_env",
                u.name.get_ref()
            ),
        ));
    }
    if count > 1 {
        return Err(src.err(
            span,
            format!(
                "user {:?}: give only one of password, password_file, password_env",
                u.name.get_ref()
            ),
        ));
    }
    let (bytes, sp) = if let Some(p) = &u.password {
        (p.get_ref().as_bytes().to_vec(), p.span())
    } else if let Some(f) = &u.password_file {
        (read_secret_file(src, f)?, f.span())
    } else {
        let e = u.password_env.as_ref().expect("counted above");
        let v = std::env::var(e.get_ref()).map_err(|_| {
            src.err(
                e.span(),
                format!("environment variable {} is not set", e.get_ref()),
            )
        })?;
        (v.into_bytes(), e.span())
    };
    if bytes.is_empty() {
        return Err(src.err(sp, "empty password"));
    }
    if bytes.len() > 20 {
        return Err(src.err(sp, "password longer than 20 bytes (the IPMI 2.0 limit)"));
    }
    Ok(Secret::new(bytes))
}
