//! The relative links of the README and the guide (`docs/**/*.md`): every `[text](target)` that
//! is not a URL names a file or directory of the repository, and every `#anchor` (in the same
//! page or another page of the guide) a heading of that page, as GitHub renders its id. Links to
//! the web are not followed (CI stays offline and quick): this is what `lychee --offline` checks,
//! without compiling lychee on every CI run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The README and every page under `docs/`.
fn pages() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "md") {
                out.push(path);
            }
        }
    }
    let mut out = vec![root().join("README.md")];
    walk(&root().join("docs"), &mut out);
    out.sort();
    out
}

/// The lines of a page outside fenced code blocks, with their numbers.
fn prose(text: &str) -> Vec<(usize, &str)> {
    let mut fence = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
            continue;
        }
        if !fence {
            out.push((i + 1, line));
        }
    }
    out
}

/// A heading's id as GitHub makes it: lower case; letters, digits, `-` and `_` kept, spaces made
/// `-`, everything else dropped; a repeated id gets `-1`, `-2`, ...
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The ids of a page's headings.
fn anchors(text: &str) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (_, line) in prose(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if hashes == 0 || hashes > 6 || !line[hashes..].starts_with(' ') {
            continue;
        }
        let id = slug(&line[hashes..]);
        let n = seen.entry(id.clone()).or_insert(0);
        out.push(if *n == 0 { id } else { format!("{id}-{n}") });
        *n += 1;
    }
    out
}

/// The targets of the inline links of a line: what follows `](` up to the closing `)`.
fn links(line: &str) -> Vec<String> {
    line.split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')'))
        .map(|(target, _)| {
            target
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// Every broken relative link of the README and the guide, as `page:line: why`.
fn broken_links() -> Vec<String> {
    let root = root();
    let mut problems = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.strip_prefix(&root).unwrap().display().to_string();
        for (line, l) in prose(&text) {
            for target in links(l) {
                if target.contains("://") || target.starts_with("mailto:") || target.is_empty() {
                    continue;
                }
                let (file, anchor) = match target.split_once('#') {
                    Some((f, a)) => (f, Some(a)),
                    None => (target.as_str(), None),
                };
                let path = if file.is_empty() {
                    page.clone()
                } else {
                    page.parent().unwrap().join(file)
                };
                if !path.exists() {
                    problems.push(format!("{name}:{line}: {target}: no such file"));
                    continue;
                }
                let Some(anchor) = anchor else { continue };
                if path.extension().is_none_or(|x| x != "md") {
                    continue;
                }
                let ids = anchors(&std::fs::read_to_string(&path).unwrap());
                if !ids.iter().any(|id| id == anchor) {
                    problems.push(format!(
                        "{name}:{line}: {target}: no heading with that id (the page has: {})",
                        ids.join(", ")
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn every_relative_link_and_anchor_of_the_guide_resolves() {
    assert!(pages().len() >= 10, "the README and the guide's pages");
    let problems = broken_links();
    assert!(
        problems.is_empty(),
        "broken links in the README and docs/:\n{}",
        problems.join("\n")
    );
}

#[test]
fn heading_ids_are_made_as_github_makes_them() {
    assert_eq!(slug(" `[[bmc.users]]`"), "bmcusers");
    assert_eq!(
        slug(" command: a program per operation"),
        "command-a-program-per-operation"
    );
    assert_eq!(
        anchors("# A\n## Metrics\n```\n## not a heading\n```\n## Metrics\n"),
        ["a", "metrics", "metrics-1"]
    );
    assert_eq!(
        links("see [a](b.md#c) and [`x`](../y.rs), not (z)"),
        ["b.md#c", "../y.rs"]
    );
}
