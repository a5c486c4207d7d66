//! The session (security) settings a `[[bmc]]` and a `[[metal_discovery]]` share: their
//! defaults, their bounds, the refusal of unauthenticated IPMI 1.5 logins above callback, and
//! the warnings about weakened settings.

use super::*;
use std::time::Duration;

fn check(text: &str) -> Result<Config, String> {
    parse_all("t.toml", text, Path::new(".")).map_err(|e| e.0)
}

fn err(text: &str) -> String {
    match check(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

/// A BMC whose `[[bmc]]` table ends with `extra`; one user of privilege `privilege` whose
/// password is long enough not to be warned about.
fn bmc(extra: &str, privilege: &str) -> String {
    format!(
        "[[bmc]]\nname = \"node1\"\nlisten = \"127.0.0.1:6230\"\n{extra}\n[[bmc.users]]\nname = \"admin\"\npassword = \"long-enough-pw\"\nprivilege = \"{privilege}\"\n"
    )
}

/// A discovery whose `[[metal_discovery]]` table ends with `extra`.
fn discovery(extra: &str) -> String {
    std::env::set_var("TEST_SESSION_METAL_TOKEN", "tok-123");
    format!(
        "[[metal_discovery]]\nproject_id = \"0f0c3a4e-1111-4a5e-9d7e-000000000000\"\ntag = \"ipmi\"\ntoken_env = \"TEST_SESSION_METAL_TOKEN\"\nlisten = \"10.0.0.1:7000-7009\"\n{extra}\n[[metal_discovery.users]]\nname = \"admin\"\npassword = \"long-enough-pw\"\nprivilege = \"operator\"\n"
    )
}

#[test]
fn only_integrity_protected_suites_by_default() {
    let c = check(&bmc("", "administrator")).unwrap();
    assert_eq!(c.bmcs[0].server.cipher_suites, vec![3, 17]);
    assert_eq!(c.bmcs[0].settings.cipher_suites, vec![3, 17]);
    let d = check(&discovery("")).unwrap();
    assert_eq!(d.discovery[0].server.cipher_suites, vec![3, 17]);
    // Others only when listed.
    let c = check(&bmc("cipher_suites = [17, 3, 16, 2]", "administrator")).unwrap();
    assert_eq!(c.bmcs[0].server.cipher_suites, vec![17, 3, 16, 2]);
}

#[test]
fn auth_type_none_is_refused_unless_every_user_is_callback() {
    let e = err(&bmc("auth_types = [\"none\", \"md5\"]", "administrator"));
    assert!(
        e.starts_with("t.toml:4:14: auth_types \"none\" lets IPMI 1.5 sessions open without a password: allowed only when every user is callback (user \"admin\" is administrator)"),
        "{e}"
    );
    let e = err(&bmc("auth_types = [\"none\"]", "user"));
    assert!(e.contains("(user \"admin\" is user)"), "{e}");
    let c = check(&bmc("auth_types = [\"none\", \"md5\"]", "callback")).unwrap();
    assert!(c.bmcs[0].server.auth_types.none);
    // Discovered BMCs are held to the same rule.
    let e = err(&discovery("auth_types = [\"none\"]"));
    assert!(
        e.contains("allowed only when every user is callback"),
        "{e}"
    );
}

#[test]
fn max_sessions_and_login_lockout_are_bounded() {
    // Session handles are one byte; a lockout past a day is a typo (and i64::MAX seconds
    // overflowed Instant and panicked at the fifth failed login).
    let e = err(&bmc("max_sessions = 256", "administrator"));
    assert_eq!(
        e,
        "t.toml:4:16: max_sessions must be 1 to 255 (session handles are one byte)"
    );
    let e = err(&bmc("max_sessions = 0", "administrator"));
    assert!(
        e.starts_with("t.toml:4:16: max_sessions must be 1 to 255"),
        "{e}"
    );
    let c = check(&bmc("max_sessions = 255", "administrator")).unwrap();
    assert_eq!(c.bmcs[0].server.max_sessions, 255);
    for v in ["86401", "9223372036854775807"] {
        let e = err(&bmc(&format!("login_lockout = {v}"), "administrator"));
        assert_eq!(
            e, "t.toml:4:17: login_lockout must be at most 86400 seconds (a day)",
            "{v}"
        );
    }
    let c = check(&bmc("login_lockout = 86400", "administrator")).unwrap();
    assert_eq!(
        c.bmcs[0].server.login_policy.lockout,
        Duration::from_secs(86_400)
    );
    let e = err(&bmc("session_timeout = 86401", "administrator"));
    assert_eq!(
        e,
        "t.toml:4:19: session_timeout must be 1 to 86400 seconds (a day)"
    );
    let e = err(&discovery("max_sessions = 4096"));
    assert!(
        e.starts_with("t.toml:6:16: max_sessions must be 1 to 255"),
        "{e}"
    );
}

#[test]
fn a_discovery_takes_every_session_setting() {
    std::env::set_var("TEST_SESSION_KG", "0123456789");
    let d = check(&discovery(
        "cipher_suites = [17]\nipmi15 = false\nauth_types = [\"md5\"]\nmax_sessions = 8\nsession_timeout = 30\nkg_env = \"TEST_SESSION_KG\"\nlogin_max_failures = 3\nlogin_lockout = 120",
    ))
    .unwrap();
    let d = &d.discovery[0];
    let b = d.bmc("node-a", "6e2b7f4c-3c1a-4a5e-9d7e-000000000001", d.pool[0]);
    for s in [&d.server, &b.server] {
        assert_eq!(s.cipher_suites, vec![17]);
        assert!(!s.ipmi15);
        assert_eq!(s.max_sessions, 8);
        assert_eq!(s.session_timeout, Duration::from_secs(30));
        assert_eq!(s.kg.as_ref().unwrap().expose(), b"0123456789");
        assert_eq!(s.login_policy.max_failures, 3);
        assert_eq!(s.login_policy.lockout, Duration::from_secs(120));
    }
    assert_eq!(b.settings.cipher_suites, vec![17]);
    // The same checks as a [[bmc]]'s, at their places.
    let e = err(&discovery("cipher_suites = [4]"));
    assert!(
        e.starts_with("t.toml:6:17: unsupported cipher suite 4"),
        "{e}"
    );
    let e = err(&discovery("colour = 1"));
    assert!(e.starts_with("t.toml:6:1: unknown field `colour`"), "{e}");
}

fn warnings(text: &str) -> Vec<String> {
    let c = check(text).unwrap();
    c.warnings()
        .into_iter()
        .map(|(who, w)| format!("{who}: {w}"))
        .collect()
}

#[test]
fn the_defaults_give_no_warnings() {
    assert_eq!(warnings(&bmc("", "administrator")), Vec::<String>::new());
    assert_eq!(warnings(&discovery("")), Vec::<String>::new());
    // Settings as strong as the defaults are not warned about either.
    let strong = "cipher_suites = [17]\nipmi15 = false\nmax_sessions = 8\nlogin_lockout = 600";
    assert_eq!(warnings(&bmc(strong, "operator")), Vec::<String>::new());
}

#[test]
fn every_weakened_setting_is_warned_about() {
    let weak = bmc(
        "cipher_suites = [0, 1, 2, 3, 15, 16, 17]\nipmi15 = true\nauth_types = [\"md2\", \"md5\", \"straight\"]",
        "administrator",
    )
    .replace("long-enough-pw", "short-pw");
    let w = warnings(&weak);
    let want = [
        "bmc \"node1\": cipher suite 0 is enabled: no authentication at all",
        "bmc \"node1\": cipher suites 1, 15 enabled: no integrity protection",
        "bmc \"node1\": cipher suites 2, 16 enabled: no encryption",
        "bmc \"node1\": auth_types straight: IPMI 1.5 carries the password in clear",
        "bmc \"node1\": auth_types md2: MD2 is broken",
        "bmc \"node1\": IPMI 1.5 with MD5 is on: MD5 is weak",
        "bmc \"node1\": user \"admin\": password shorter than 12 characters: RAKP message 2",
    ];
    assert_eq!(w.len(), want.len(), "{w:#?}");
    for (got, want) in w.iter().zip(want) {
        assert!(
            got.starts_with(want),
            "{got:?} does not start with {want:?}"
        );
    }
    assert!(!w.iter().any(|l| l.contains("short-pw")), "{w:#?}");
    // auth type none (callback users only) is warned about too.
    let none = warnings(&bmc("auth_types = [\"none\"]", "callback"));
    assert!(none[0].contains("auth_types none: IPMI 1.5 sessions open without a password"));
    // Auth types of a switched-off IPMI 1.5 expose nothing.
    let off = warnings(&bmc("ipmi15 = false\nauth_types = [\"straight\"]", "user"));
    assert_eq!(off, Vec::<String>::new());
    // A discovery's weakened settings are said once, for all the BMCs it starts.
    let w = warnings(&discovery("cipher_suites = [3, 1]"));
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(
        w[0].starts_with("metal_discovery \"discovery-1\": cipher suite 1 enabled"),
        "{w:#?}"
    );
}
