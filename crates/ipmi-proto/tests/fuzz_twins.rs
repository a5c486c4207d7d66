//! Proptest twins of the cargo-fuzz targets in `fuzz/`: the same harness code (included by path
//! from `fuzz/harness/`), driven by proptest on stable so that it runs in CI with `cargo test`.
//! Each twin feeds its harness mutated seeds and generated op lists; the committed corpora run
//! whole, as regression inputs. See docs/fuzzing.md for the long cargo-fuzz runs.

#[allow(dead_code)]
#[path = "../../../fuzz/harness/mod.rs"]
mod harness;

use harness::checks::{check_dispatch, differs_in_covered};
use harness::fixtures::{answer, peers, server, server_config, Clock};
use harness::input::push_op;
use harness::real::{Mode, MODES};
use harness::{client_login, cmd_bodies, seeds, server_datagrams, server_in_session};
use ipmi_proto::session::{Action, RequestContext};
use ipmi_proto::types::Privilege;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The server_datagrams seeds: recorded logins of every mode, every datagram a real client sent
/// in the captures, and the committed corpus (what long cargo-fuzz runs kept).
fn datagram_seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut v: Vec<Vec<u8>> = seeds::server_datagrams(&captures())
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        v.extend(
            corpus_files("server_datagrams")
                .iter()
                .map(|f| std::fs::read(f).unwrap()),
        );
        v
    })
}

/// XORs `flips` into `base` at the given positions and appends `tail` as one more datagram.
fn mutated(base: &[u8], flips: &[(usize, u8)], tail: Option<(u8, Vec<u8>)>) -> Vec<u8> {
    let mut v = base.to_vec();
    for (at, x) in flips {
        if !v.is_empty() {
            let i = at % v.len();
            v[i] ^= x;
        }
    }
    if let Some((ctrl, d)) = tail {
        v.extend_from_slice(server_datagrams::MARK);
        v.push(ctrl);
        v.extend_from_slice(&d);
    }
    v
}

/// Op lists in the `Reader` format: (tag, data) pairs after a selector byte.
fn ops(tags: std::ops::Range<u8>, max: usize) -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u8>(),
        prop::collection::vec((tags, prop::collection::vec(any::<u8>(), 0..24)), 0..max),
    )
        .prop_map(|(sel, ops)| {
            let mut v = vec![sel];
            for (tag, data) in ops {
                push_op(&mut v, tag, &data);
            }
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn server_datagrams_twin(
        pick in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<usize>(), 1..=255u8), 0..4),
        tail in prop::option::of((any::<u8>(), prop::collection::vec(any::<u8>(), 0..48))),
    ) {
        let base: &Vec<u8> = pick.get(datagram_seeds());
        server_datagrams::run(&mutated(base, &flips, tail));
    }

    #[test]
    fn server_datagrams_twin_arbitrary(data in prop::collection::vec(any::<u8>(), 0..200)) {
        server_datagrams::run(&data);
    }

    #[test]
    fn cmd_bodies_twin(sel in any::<u8>(), body in prop::collection::vec(any::<u8>(), 0..40)) {
        let mut v = vec![sel];
        v.extend_from_slice(&body);
        cmd_bodies::run(&v);
    }
}

proptest! {
    // Each case logs in (twice in server_in_session), so fewer cases.
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn server_in_session_twin(input in ops(0..8, 12)) {
        server_in_session::run(&input);
    }

    #[test]
    fn client_login_twin(input in ops(0..6, 16)) {
        client_login::run(&input);
    }
}

/// Every body length up to 24 for every parser, all-zero and all-ones: fixed-length bodies parse
/// here, so every emit path runs at least once whatever proptest draws.
#[test]
fn cmd_bodies_every_parser_parses_something() {
    let n = cmd_bodies::parsers().len();
    for sel in 0..n as u8 {
        for len in 0..24 {
            for fill in [0x00, 0xff, 0x05] {
                let mut v = vec![sel];
                v.extend(std::iter::repeat_n(fill, len));
                cmd_bodies::run(&v);
            }
        }
    }
}

/// Requests and answers around the most an IPMI 1.5 message carries, in every mode: the client
/// refuses request data over 248 bytes, and the server answers 0xCA where the model's answer has
/// over 247 (the harness checks both). Generated ops rarely get there.
#[test]
fn server_in_session_long_requests_and_answers() {
    let (netfn, cmd) = harness::fixtures::LONG_ANSWER;
    for mode in 0..MODES.len() as u8 {
        let mut input = vec![mode];
        for n in [0u8, 201, 202, 203, 255] {
            push_op(
                &mut input,
                server_in_session::OP_REQUEST,
                &[netfn.0, cmd, n],
            );
        }
        for len in [247, 248, 249, 253] {
            let mut op = vec![0x30, 0x02];
            op.resize(len + 2, 0x5a);
            push_op(&mut input, server_in_session::OP_REQUEST, &op);
        }
        server_in_session::run(&input);
    }
}

/// `cmd_bodies` checks every command type of `cmd::`: its list names each `command!`
/// declaration in `src/cmd/` once (as `group::Type`), so that a new command without fuzz
/// coverage fails here.
#[test]
fn cmd_bodies_cover_every_command() {
    let cmd = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cmd");
    let mut declared = Vec::new();
    for group in std::fs::read_dir(&cmd).unwrap() {
        let group = group.unwrap().path();
        if !group.is_dir() {
            continue;
        }
        let name = group.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&group).unwrap() {
            let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
            declared.extend(
                declared_commands(&text)
                    .into_iter()
                    .map(|c| format!("{name}::{c}")),
            );
        }
    }
    declared.sort();
    assert!(declared.len() >= 51, "found only {declared:?}");
    let mut listed: Vec<String> = cmd_bodies::COMMANDS
        .iter()
        .map(|c| c.name.replace(' ', ""))
        .collect();
    listed.sort();
    assert_eq!(
        listed, declared,
        "fuzz/harness/cmd_bodies.rs COMMANDS must list every command!() in src/cmd"
    );
}

/// The type names of the `command!` invocations in a source file: the first identifier after
/// `command!(` and any doc comments or attributes.
fn declared_commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("command!(") {
        let before = &rest[..at];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        rest = &rest[at + "command!(".len()..];
        if before[line_start..].trim_start().starts_with("//") {
            continue;
        }
        let mut body = rest.trim_start();
        while body.starts_with("///") || body.starts_with("#[") {
            body = body[body.find('\n').map_or(body.len(), |i| i + 1)..].trim_start();
        }
        let name: String = body
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        out.push(name);
    }
    out
}

/// The recorded logins replay against the fixed-RNG server: the last datagram of each (Close
/// Session) is answered inside the session. If the server's use of its RNG changes, the recorded
/// seeds no longer replay and the corpus must be made again (see docs/fuzzing.md).
#[test]
fn recorded_logins_replay_into_the_session() {
    for mode in MODES {
        let datagrams = seeds::record_session(mode);
        let mut s = server();
        let clock = Clock::new();
        let mut dispatched_in_session = 0;
        for d in &datagrams {
            match s.handle(clock.now(), peers()[0], d) {
                Action::Dispatch(req) => {
                    check_dispatch(s.config(), &req);
                    dispatched_in_session += usize::from(req.context.privilege.is_some());
                    let (cc, body) = answer(&req);
                    s.seal(clock.now(), &req.context, cc, &body).unwrap();
                }
                Action::Reply(_) => {}
                Action::Drop(why) => panic!("{mode:?}: recorded datagram dropped: {why}"),
            }
        }
        assert_eq!(
            dispatched_in_session, 2,
            "{mode:?}: both requests reached the BMC model"
        );
        assert_eq!(s.active_sessions(), 0, "{mode:?}: the session was closed");
    }
}

/// The checks the harnesses rely on do fail when they should.
#[test]
fn checks_catch_what_they_are_for() {
    let config = server_config();
    let peer = peers()[0];
    let escalated = ipmi_proto::session::Request {
        netfn: ipmi_proto::types::NetFn::CHASSIS,
        cmd: 0x02,
        data: vec![],
        context: RequestContext::for_test(
            peer,
            Some(Privilege::Administrator),
            Some((4, "user".into())),
        ),
    };
    assert!(std::panic::catch_unwind(|| check_dispatch(&config, &escalated)).is_err());
    let mut fine = escalated.clone();
    fine.context = RequestContext::for_test(peer, Some(Privilege::User), Some((4, "user".into())));
    check_dispatch(&config, &fine);
    // A body whose emit loses a bit fails the round trip.
    let lossy = std::panic::catch_unwind(|| {
        cmd_bodies::round_trip("lossy", &[0x81], |d| d.first().copied(), |b| vec![b & 0x7f])
    });
    assert!(lossy.is_err());
    // What counts as a forgery: a flipped bit after the RMCP header, not in it.
    let packet = seeds::record_session(Mode::Suite(17)).pop().unwrap();
    let mut forged = packet.clone();
    forged[2] ^= 1;
    assert!(!differs_in_covered(&packet, &forged));
    forged[20] ^= 1;
    assert!(differs_in_covered(&packet, &forged));
    // IPMI 1.5: the reserved high nibble of the auth type byte is ignored, its low nibble not.
    let packet = seeds::record_session(Mode::V15).pop().unwrap();
    let mut forged = packet.clone();
    forged[4] ^= 0x70;
    assert!(!differs_in_covered(&packet, &forged));
    forged[4] ^= 0x01;
    assert!(differs_in_covered(&packet, &forged));
}

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["corpus", "artifacts-found"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(dir).join(target)) else {
            continue;
        };
        files.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()));
    }
    files.sort();
    files
}

/// Every committed corpus input (and every input a long run found, once fixed) runs clean.
#[test]
fn committed_corpora_run_clean() {
    let targets: [cmd_bodies::Check; 4] = [
        ("server_datagrams", server_datagrams::run),
        ("server_in_session", server_in_session::run),
        ("client_login", client_login::run),
        ("cmd_bodies", cmd_bodies::run),
    ];
    let mut failed = Vec::new();
    for (target, run) in targets {
        let files = corpus_files(target);
        assert!(!files.is_empty(), "no corpus for {target}");
        for f in files {
            let data = std::fs::read(&f).unwrap();
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                failed.push(f.display().to_string());
            }
        }
    }
    assert!(
        failed.is_empty(),
        "inputs that fail (their panics above):\n{}",
        failed.join("\n")
    );
}

/// The captured real-client exchanges committed in fuzz/captures/.
fn captures() -> Vec<seeds::Capture> {
    let mut files: Vec<_> = std::fs::read_dir(fuzz_dir().join("captures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let name = f.file_stem().unwrap().to_string_lossy().into_owned();
            (name, seeds::parse_capture(&std::fs::read(f).unwrap()))
        })
        .collect()
}

/// Every committed capture decodes: its login is understood and its in-session messages
/// decrypt (with the key derived from the capture password) into well-formed IPMI messages.
#[test]
fn captures_decode_into_messages() {
    let captures = captures();
    assert!(
        captures.len() >= 10,
        "fuzz/captures holds the real-client exchanges"
    );
    for (name, capture) in &captures {
        let messages = seeds::messages(capture, harness::fixtures::ADMIN.1);
        let requests = messages.iter().filter(|(c, _)| *c).count();
        assert!(requests >= 4, "{name}: {requests} requests decoded");
        for (from_client, m) in &messages {
            if *from_client {
                ipmi_proto::wire::message::Request::parse(m).expect("request decodes");
            } else {
                ipmi_proto::wire::message::Response::parse(m).expect("response decodes");
            }
        }
    }
}

/// Writes the named seed inputs into fuzz/corpus/<target>/ (a tool, not a test), from the
/// recorded logins and the captures in fuzz/captures/; then `cargo fuzz cmin` each target.
/// `cargo test -p ipmi-proto --test fuzz_twins -- --ignored write_seed_corpus`
#[test]
#[ignore = "writes fuzz/corpus; run by hand"]
fn write_seed_corpus() {
    let captures = captures();
    let targets = [
        ("server_datagrams", seeds::server_datagrams(&captures)),
        ("server_in_session", seeds::server_in_session(&captures)),
        ("client_login", seeds::client_login(&captures)),
        ("cmd_bodies", seeds::cmd_bodies(&captures)),
    ];
    for (target, seeds) in targets {
        let dir = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in seeds {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}
