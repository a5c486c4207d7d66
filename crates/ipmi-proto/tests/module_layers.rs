//! The module layers of ipmi-proto, checked from its source: every `use` and every path written
//! out (`crate::x::y`, `super::x`, `self::x`, a child module's name) becomes an edge between the
//! two files, and
//! - no file of a lower layer names a higher one: `wire` < `crypto` < `cmd` < `session`, with
//!   `types` a leaf that any layer may use and that names nothing;
//! - no two files name each other, directly or round a longer circle.
//!
//! A parent module declaring its children (`mod x;`) is structure, not an edge; a parent that
//! re-exports a child (`pub use x::Y`) names it. Comments and string literals are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// The layers, bottom up. `types` is not among them: it is a leaf below all.
const LAYERS: [&str; 5] = ["wire", "crypto", "sdr", "cmd", "session"];
/// The leaf module every layer may use.
const LEAF: &str = "types";

/// A module path inside the crate: `[]` is the crate root, `["session", "server"]` is
/// `crate::session::server`.
type ModPath = Vec<String>;

fn name(m: &[String]) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

/// One reference from a file to a module, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    from: ModPath,
    to: ModPath,
    line: usize,
}

// ---- reading the source ----

#[derive(Debug, Clone, PartialEq)]
struct Token {
    text: String,
    line: usize,
}

/// Splits Rust source into identifiers, `::` and single punctuation characters, leaving out
/// comments, string and character literals, and lifetimes.
fn tokens(src: &str) -> Vec<Token> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(c[i] == '\n');
                    i += 1;
                }
            }
        } else if ch == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                line += usize::from(at(i) == '\n');
                i += 1;
            }
            i += 1;
        } else if ch == '\'' {
            if at(i + 1) == '\\' {
                // An escaped character literal: skip to its closing quote.
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                // A lifetime: its name follows as an identifier and does no harm.
                i += 1;
            }
        } else if ch == ':' && at(i + 1) == ':' {
            out.push(Token {
                text: "::".into(),
                line,
            });
            i += 2;
        } else if ch.is_alphanumeric() || ch == '_' || ch == '$' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '$') {
                i += 1;
            }
            let text: String = c[start..i].iter().collect();
            // Raw strings: r"..", r#".."#, br".."
            if (text == "r" || text == "br") && (at(i) == '"' || at(i) == '#') {
                let mut hashes = 0;
                while at(i) == '#' {
                    hashes += 1;
                    i += 1;
                }
                if at(i) == '"' {
                    i += 1;
                    loop {
                        if i >= c.len() {
                            break;
                        }
                        if c[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                            i += 1 + hashes;
                            break;
                        }
                        line += usize::from(c[i] == '\n');
                        i += 1;
                    }
                    continue;
                }
            }
            out.push(Token { text, line });
        } else {
            out.push(Token {
                text: ch.to_string(),
                line,
            });
            i += 1;
        }
    }
    out
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
}

/// Expands the use tree starting at `toks[*i]` into full paths; leaves `*i` after it.
fn use_tree(toks: &[Token], i: &mut usize) -> Vec<Vec<String>> {
    let mut prefix: Vec<String> = Vec::new();
    if toks.get(*i).is_some_and(|t| t.text == "::") {
        *i += 1; // `use ::name`: an external crate
        prefix.push("::".into());
    }
    loop {
        let Some(t) = toks.get(*i) else {
            return vec![prefix];
        };
        match t.text.as_str() {
            "{" => {
                *i += 1;
                let mut paths = Vec::new();
                while toks.get(*i).is_some_and(|t| t.text != "}") {
                    if toks[*i].text == "," {
                        *i += 1;
                        continue;
                    }
                    for mut item in use_tree(toks, i) {
                        if item.first().is_some_and(|s| s == "self") && !prefix.is_empty() {
                            item.remove(0);
                        }
                        let mut p = prefix.clone();
                        p.extend(item);
                        paths.push(p);
                    }
                }
                *i += 1;
                return paths;
            }
            "*" => {
                *i += 1;
                return vec![prefix];
            }
            s if is_ident(s) => {
                prefix.push(s.to_string());
                *i += 1;
                if toks.get(*i).is_some_and(|t| t.text == "::") {
                    *i += 1;
                    continue;
                }
                if toks.get(*i).is_some_and(|t| t.text == "as") {
                    *i += 2;
                }
                return vec![prefix];
            }
            _ => return vec![prefix],
        }
    }
}

/// Turns a written path into a module path, from the module it is written in; `None` for paths
/// outside the crate.
fn resolve(current: &[String], path: &[String], children: &BTreeSet<ModPath>) -> Option<ModPath> {
    let first = path.first()?;
    let (mut base, rest): (ModPath, &[String]) = match first.as_str() {
        "crate" | "$crate" => (Vec::new(), &path[1..]),
        "self" => (current.to_vec(), &path[1..]),
        "super" => {
            let mut base = current.to_vec();
            let mut k = 0;
            while path.get(k).is_some_and(|s| s == "super") {
                base.pop()?;
                k += 1;
            }
            (base, &path[k..])
        }
        _ => {
            // A relative path names a child module of the one it is written in, or nothing of
            // ours (an external crate, a prelude name, something imported earlier).
            let mut child = current.to_vec();
            child.push(first.clone());
            if !children.contains(&child) {
                return None;
            }
            (current.to_vec(), path)
        }
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The module path of a file under `src/`.
fn module_of(rel: &Path) -> ModPath {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

/// Every module path written in `src` (the file of module `file`), with its line, resolved to
/// absolute module paths. `modules` holds every module there is (files and inline ones), so that
/// a child module's bare name is recognised.
fn references(file: &[String], src: &str, modules: &BTreeSet<ModPath>) -> Vec<(ModPath, usize)> {
    let toks = tokens(src);
    let mut out = Vec::new();
    // Inline modules open in this file: (path, brace depth at which they close).
    let mut inline: Vec<(ModPath, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let current = inline.last().map_or(file.to_vec(), |(m, _)| m.clone());
        let t = &toks[i].text;
        let line = toks[i].line;
        match t.as_str() {
            "{" => {
                depth += 1;
                i += 1;
            }
            "}" => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                i += 1;
            }
            "mod" if toks.get(i + 2).is_some_and(|t| t.text == "{") => {
                let mut m = current.clone();
                m.push(toks[i + 1].text.clone());
                inline.push((m, depth));
                i += 2;
            }
            "use" => {
                i += 1;
                for path in use_tree(&toks, &mut i) {
                    if let Some(m) = resolve(&current, &path, modules) {
                        out.push((m, line));
                    }
                }
            }
            s if is_ident(s)
                && toks.get(i + 1).is_some_and(|t| t.text == "::")
                && (i == 0 || toks[i - 1].text != "::") =>
            {
                let mut path = vec![s.to_string()];
                let mut j = i + 1;
                while toks.get(j).is_some_and(|t| t.text == "::")
                    && toks.get(j + 1).is_some_and(|t| is_ident(&t.text))
                {
                    path.push(toks[j + 1].text.clone());
                    j += 2;
                }
                if let Some(m) = resolve(&current, &path, modules) {
                    out.push((m, line));
                }
                i = j;
            }
            _ => i += 1,
        }
    }
    out
}

/// Inline modules (`mod name {`) declared in a file, as absolute paths.
fn inline_modules(file: &[String], src: &str) -> Vec<ModPath> {
    let toks = tokens(src);
    let mut found = Vec::new();
    let mut open: Vec<(ModPath, usize)> = Vec::new();
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate() {
        match t.text.as_str() {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if open.last().is_some_and(|(_, d)| *d == depth) {
                    open.pop();
                }
            }
            "mod" if toks.get(i + 2).is_some_and(|t| t.text == "{") => {
                let mut m = open.last().map_or(file.to_vec(), |(m, _)| m.clone());
                m.push(toks[i + 1].text.clone());
                found.push(m.clone());
                open.push((m, depth));
            }
            _ => {}
        }
    }
    found
}

/// The edges between files of a crate given as (file module path, source) pairs.
fn graph(files: &BTreeMap<ModPath, String>) -> Vec<Edge> {
    let mut modules: BTreeSet<ModPath> = files.keys().cloned().collect();
    for (m, src) in files {
        modules.extend(inline_modules(m, src));
    }
    let mut edges = BTreeSet::new();
    for (from, src) in files {
        for (target, line) in references(from, src, &modules) {
            // The file a module path lives in: its longest prefix that is a file.
            let to = (0..=target.len())
                .rev()
                .map(|n| target[..n].to_vec())
                .find(|p| files.contains_key(p))
                .expect("the crate root is a file");
            if &to != from {
                edges.insert(Edge {
                    from: from.clone(),
                    to,
                    line,
                });
            }
        }
    }
    edges.into_iter().collect()
}

// ---- the checks ----

fn layer(m: &[String]) -> Result<Option<usize>, String> {
    match m.first().map(String::as_str) {
        None => Err("the crate root".into()),
        Some(LEAF) => Ok(None),
        Some(top) => LAYERS
            .iter()
            .position(|l| *l == top)
            .map(Some)
            .ok_or_else(|| format!("module {top} has no layer: add it to LAYERS")),
    }
}

/// Every edge that goes up a layer, out of the leaf, or into the crate root.
fn layer_violations(edges: &[Edge], file_of: &dyn Fn(&ModPath) -> String) -> Vec<String> {
    let mut bad = Vec::new();
    for e in edges {
        if e.from.is_empty() {
            continue; // lib.rs declares the modules
        }
        let say = |why: String| {
            format!(
                "{} ({}:{}) names {}: {why}",
                name(&e.from),
                file_of(&e.from),
                e.line,
                name(&e.to)
            )
        };
        match (layer(&e.from), layer(&e.to)) {
            (Err(why), _) | (_, Err(why)) => bad.push(say(why)),
            (Ok(None), _) => bad.push(say(format!("{LEAF} is a leaf and names nothing"))),
            (Ok(Some(_)), Ok(None)) => {}
            (Ok(Some(a)), Ok(Some(b))) if b > a => bad.push(say(format!(
                "layer {} is below layer {}",
                LAYERS[a], LAYERS[b]
            ))),
            _ => {}
        }
    }
    bad
}

/// Every circle of files: each pair that names each other, and each longer circle once.
fn cycles(edges: &[Edge]) -> Vec<String> {
    let mut next: BTreeMap<&ModPath, BTreeSet<&ModPath>> = BTreeMap::new();
    for e in edges {
        next.entry(&e.from).or_default().insert(&e.to);
    }
    let mut found = BTreeSet::new();
    for start in next.keys() {
        // The shortest way back to `start`, breadth first.
        let mut came_from: BTreeMap<&ModPath, &ModPath> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([*start]);
        while let Some(m) = queue.pop_front() {
            for n in next.get(m).into_iter().flatten() {
                if *n == *start {
                    let mut circle = vec![name(m)];
                    let mut k = m;
                    while k != *start {
                        k = came_from[k];
                        circle.push(name(k));
                    }
                    circle.reverse();
                    // The same circle from each of its members: keep one, from its least member.
                    let least = (0..circle.len()).min_by_key(|i| &circle[*i]).unwrap_or(0);
                    circle.rotate_left(least);
                    found.insert(circle);
                } else if !came_from.contains_key(n) && n != start {
                    came_from.insert(n, m);
                    queue.push_back(n);
                }
            }
        }
    }
    found
        .into_iter()
        .map(|c| match c.as_slice() {
            [a, b] => format!("{a} and {b} name each other"),
            _ => format!("circle: {} -> {}", c.join(" -> "), c[0]),
        })
        .collect()
}

fn report(title: &str, problems: &[String]) -> String {
    let mut s = format!("{title}:\n");
    for p in problems {
        let _ = writeln!(s, "  {p}");
    }
    s
}

// ---- the crate ----

fn crate_files() -> BTreeMap<ModPath, String> {
    files_under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

/// Every source file under `src`, by module path.
fn files_under(src: &Path) -> BTreeMap<ModPath, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<ModPath, String>) {
        for entry in std::fs::read_dir(dir).expect("read src/") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).expect("under src/");
                let src = std::fs::read_to_string(&path).expect("read a source file");
                out.insert(module_of(rel), src);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, src, &mut out);
    out
}

fn file_name(files: &BTreeMap<ModPath, String>) -> impl Fn(&ModPath) -> String + '_ {
    move |m: &ModPath| {
        let base = format!("src/{}", m.join("/"));
        let nested = files.keys().any(|k| k.len() > m.len() && k.starts_with(m));
        if m.is_empty() {
            "src/lib.rs".into()
        } else if nested {
            format!("{base}/mod.rs")
        } else {
            format!("{base}.rs")
        }
    }
}

#[test]
fn lower_layers_never_name_higher_ones() {
    let files = crate_files();
    let edges = graph(&files);
    // The reader must see the imports that are known to exist, or this test would pass on
    // nothing.
    for (from, to) in [
        ("session::server", "session::seal"),
        ("session::client", "cmd::app"),
        ("crypto::auth15", "wire::ipmi15"),
        ("wire::ipmi15", "wire"),
        ("cmd::app::close_session", "cmd"),
        ("cmd::app::close_session", "types"),
        ("session", "session::server"),
    ] {
        assert!(
            edges
                .iter()
                .any(|e| name(&e.from) == from && name(&e.to) == to),
            "the reader missed {from} -> {to}"
        );
    }
    let bad = layer_violations(&edges, &file_name(&files));
    assert!(bad.is_empty(), "{}", report("layer violations", &bad));
}

#[test]
fn no_two_files_name_each_other() {
    let files = crate_files();
    let circles = cycles(&graph(&files));
    assert!(
        circles.is_empty(),
        "{}",
        report("circular imports", &circles)
    );
}

/// The same check over every crate of the workspace (each crate's own modules; a crate's
/// dependencies are other crates, which cargo already keeps acyclic). One kind of reference is
/// left out here: a module naming an item its own ancestor defines (`crate::Bmc` from
/// `ipmi_bmc::dispatch`, `crate::Args` from a binary's subcommand), which is how a crate root
/// that holds its main type is split into parts. ipmi-proto itself is held to the stricter check
/// above, and a circle between siblings or cousins (runtime.rs and discovery.rs naming each other)
/// is caught in every crate.
#[test]
fn no_crate_of_the_workspace_has_circular_module_imports() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut problems = Vec::new();
    let mut seen = 0;
    for entry in std::fs::read_dir(&crates).expect("read crates/") {
        let src = entry.expect("directory entry").path().join("src");
        if !src.is_dir() {
            continue;
        }
        seen += 1;
        let who = src
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned());
        let edges: Vec<Edge> = graph(&files_under(&src))
            .into_iter()
            .filter(|e| !e.from.starts_with(&e.to))
            .collect();
        for c in cycles(&edges) {
            problems.push(format!("{}: {c}", who.as_deref().unwrap_or("?")));
        }
    }
    assert!(
        seen >= 10,
        "found only {seen} crates under {}",
        crates.display()
    );
    assert!(
        problems.is_empty(),
        "{}",
        report("circular imports", &problems)
    );
}

// ---- the checker itself, on made-up crates ----

fn fake(files: &[(&str, &str)]) -> BTreeMap<ModPath, String> {
    files
        .iter()
        .map(|(m, src)| {
            let path = if m.is_empty() {
                Vec::new()
            } else {
                m.split("::").map(String::from).collect()
            };
            (path, src.to_string())
        })
        .collect()
}

#[test]
fn checker_reports_an_upward_import_and_a_circle_by_name() {
    let files = fake(&[
        ("", "pub mod wire; pub mod session; pub mod types;"),
        ("types", "// use crate::session; (a comment)\npub struct T;"),
        ("wire", "pub mod a; pub mod b;"),
        (
            "wire::a",
            "use super::b::B;\nfn f() { crate::session::g(); }",
        ),
        ("wire::b", "pub struct B; fn h() { let _ = super::a::X; }"),
        ("session", "use crate::{types::T, wire::{self, a}};"),
    ]);
    let edges = graph(&files);
    let bad = layer_violations(&edges, &|m| name(m));
    assert_eq!(
        bad,
        ["wire::a (wire::a:2) names session: layer wire is below layer session"]
    );
    assert_eq!(
        cycles(&edges),
        [
            "session and wire::a name each other",
            "wire::a and wire::b name each other"
        ]
    );
    let longer = fake(&[
        ("", ""),
        ("cmd", "mod x { use super::super::session::S; }"),
        ("session", "use crate::crypto::C;"),
        ("crypto", "pub use crate::cmd::K;"),
    ]);
    let edges = graph(&longer);
    assert_eq!(cycles(&edges), ["circle: cmd -> session -> crypto -> cmd"]);
    assert_eq!(layer_violations(&edges, &|m| name(m)).len(), 2);
}

#[test]
fn tokens_skip_comments_strings_and_char_literals() {
    let t: Vec<String> =
        tokens("a /* crate::x /* nested */ */ \"crate::y\" '\"' r#\"crate::z\"# b::c 'q' 'life")
            .into_iter()
            .map(|t| t.text)
            .collect();
    assert_eq!(t, ["a", "b", "::", "c", "life"]);
}
