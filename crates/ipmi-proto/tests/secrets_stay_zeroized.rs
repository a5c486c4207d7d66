//! Passwords and keys stay in memory that is zeroed when dropped, checked from the source (as
//! `module_layers.rs` checks the layers): outside tests,
//! - the bytes of a [`Secret`] are never copied out except into `Zeroizing` or another `Secret`
//!   (`expose().to_vec()` and the like);
//! - a password padded for IPMI 1.5 (`password16`) is held in `Zeroizing`;
//! - `Secret` compares in constant time: no derived `PartialEq`, whose early exit on the first
//!   differing byte tells a timing attacker how much of a guess is right.

use std::path::Path;

/// Every `.rs` file under `dir`, with its path relative to `src/`.
fn sources(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            // Test modules copy secrets freely: they are made up.
            if path.file_name().is_some_and(|n| n == "tests") {
                continue;
            }
            sources(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("read source");
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel = rel.to_string_lossy().into_owned();
            out.push((rel, text));
        }
    }
}

/// The lines of `text` before its `#[cfg(test)]` module, numbered from 1.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
}

/// Lines that copy secret bytes into memory nobody zeroes.
fn offenders(files: &[(String, String)]) -> Vec<String> {
    const COPIES: [&str; 4] = [
        ".expose().to_vec()",
        ".expose().to_owned()",
        ".expose().into()",
        "Vec::from(",
    ];
    const KEPT: [&str; 2] = ["Zeroizing::new(", "Secret::new("];
    let mut bad = Vec::new();
    for (path, text) in files {
        for (n, line) in code_lines(text) {
            let copy = COPIES
                .iter()
                .any(|c| line.contains(c) && (*c != "Vec::from(" || line.contains("expose()")));
            let padded = line.contains("password16(") && !line.contains("fn password16");
            if (copy || padded) && !KEPT.iter().any(|k| line.contains(k)) {
                bad.push(format!("{path}:{n}: {}", line.trim()));
            }
        }
    }
    bad
}

#[test]
fn secret_bytes_are_copied_only_into_zeroized_memory() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &src, &mut files);
    assert!(files.len() > 20, "read the crate's source");
    let bad = offenders(&files);
    assert!(
        bad.is_empty(),
        "secrets copied outside Zeroizing:\n{}",
        bad.join("\n")
    );
}

#[test]
fn secret_equality_is_constant_time() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/crypto/secret.rs");
    let text = std::fs::read_to_string(path).unwrap();
    let code: Vec<&str> = code_lines(&text).map(|(_, l)| l).collect();
    let derive = code
        .iter()
        .position(|l| l.starts_with("pub struct Secret"))
        .and_then(|i| code[..i].iter().rev().find(|l| l.starts_with("#[derive(")))
        .expect("Secret's derive line");
    assert!(!derive.contains("PartialEq"), "derived equality: {derive}");
    let eq = code
        .iter()
        .position(|l| l.starts_with("impl PartialEq for Secret"))
        .expect("Secret compares through its own PartialEq");
    assert!(
        code[eq..].iter().take(6).any(|l| l.contains("ct_eq")),
        "Secret's equality does not use ct_eq"
    );
}

#[test]
fn the_checker_finds_copies() {
    let made_up = |line: &str| vec![("x.rs".to_string(), format!("fn f() {{\n{line}\n}}\n"))];
    assert_eq!(
        offenders(&made_up("let kg = k.expose().to_vec();")).len(),
        1
    );
    assert_eq!(offenders(&made_up("let pw = password16(p);")).len(), 1);
    assert!(offenders(&made_up("let kg = Zeroizing::new(k.expose().to_vec());")).is_empty());
    assert!(offenders(&made_up("let pw = Zeroizing::new(password16(p));")).is_empty());
    assert!(offenders(&made_up("// k.expose().to_vec()")).is_empty());
    let in_tests = "#[cfg(test)]\nmod tests {\nlet kg = k.expose().to_vec();\n}\n";
    assert!(offenders(&[("x.rs".into(), in_tests.into())]).is_empty());
}
