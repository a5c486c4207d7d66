//! Scraping the admin server's `/metrics` and parsing it with a real Prometheus text parser: the
//! official Python client's (`prometheus_client.parser`, installed by `.ci/run`), not a grep.

use std::io::Write;
use std::process::{Command, Stdio};

/// Parses the exposition on stdin; prints each sample (and each family without samples) as JSON.
const PARSER: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for fam in text_string_to_metric_families(sys.stdin.read()):
    rows = [{"name": s.name, "labels": s.labels, "value": s.value} for s in fam.samples]
    out.append({"family": fam.name, "type": fam.type, "help": fam.documentation, "samples": rows})
print(json.dumps(out))
"#;

/// A GET on the admin server: (status, headers lower-cased, body).
pub fn http_get(port: u16, path: &str, token: Option<&str>) -> (u16, String, String) {
    super::admin::http_full(port, "GET", path, token, "")
}

/// One sample: its name (a histogram's `_bucket`, `_sum`, `_count`...), its labels sorted by
/// name, its value.
pub type Sample = (String, Vec<(String, String)>, f64);

/// One parsed family.
#[derive(Debug)]
pub struct Family {
    /// The name as the parser gives it (a counter's without `_total`).
    pub name: String,
    pub kind: String,
    pub help: String,
    pub samples: Vec<Sample>,
}

/// A parsed scrape.
#[derive(Debug)]
pub struct Scrape {
    pub families: Vec<Family>,
}

/// Parses exposition text with `prometheus_client.parser`; panics if it does not parse.
pub fn parse(text: &str) -> Scrape {
    let python = super::require("python3", "python3");
    let mut child = Command::new(python)
        .args(["-c", PARSER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused the exposition (is prometheus_client installed? .ci/run \
         installs it):\n{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let families = json
        .as_array()
        .unwrap()
        .iter()
        .map(|f| Family {
            name: f["family"].as_str().unwrap().to_string(),
            kind: f["type"].as_str().unwrap().to_string(),
            help: f["help"].as_str().unwrap().to_string(),
            samples: f["samples"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let mut labels: Vec<(String, String)> = s["labels"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                        .collect();
                    labels.sort();
                    (
                        s["name"].as_str().unwrap().to_string(),
                        labels,
                        s["value"].as_f64().unwrap(),
                    )
                })
                .collect(),
        })
        .collect();
    Scrape { families }
}

impl Scrape {
    /// The value of sample `name` whose labels include all of `labels` (summed over the
    /// samples that match, 0 if none does).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.families
            .iter()
            .flat_map(|f| &f.samples)
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }

    /// The family named `name` (as the parser names it).
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|f| f.name == name)
    }
}
