//! The rendering: every family's descriptor, whatever has been counted, and the samples of
//! what has.

use super::*;
use std::time::Duration;

/// The `# TYPE` lines of a rendering: (name, type).
fn types(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| {
            let (name, kind) = l.split_once(' ').unwrap();
            (name.to_string(), kind.to_string())
        })
        .collect()
}

#[test]
fn every_family_is_described_once_in_order() {
    let text = render();
    let want: Vec<(String, String)> = families::ALL
        .iter()
        .map(|f| (f.name(), f.kind.name().to_string()))
        .collect();
    assert_eq!(types(&text), want);
    for f in families::ALL {
        assert!(
            text.contains(&format!("# HELP {} {}\n", f.name(), f.help)),
            "{}",
            f.stem
        );
    }
}

#[test]
fn counts_appear_with_their_labels() {
    requests::name_commands([(0x00, 0x01, "Get Chassis Status")]);
    let r = requests::for_class("render-test");
    r.count(0x00, 0x01, 0x00);
    r.count(0x00, 0x01, 0x00);
    r.count(0x00, 0x02, 0xc1);
    calls::for_backend("render-test").record(
        calls::Operation::PowerState,
        calls::Outcome::Ok,
        Duration::from_micros(50),
    );
    api_cache("render-test").hit();
    api_rate_limit("render-test").closed_for(Duration::from_secs(60));
    reload(ReloadOutcome::Refused);
    let text = render();
    for line in [
        r#"ipmi_to_metal_requests_total{class="render-test",netfn="chassis",command="get_chassis_status",completion_code="0x00"} 2"#,
        r#"ipmi_to_metal_requests_total{class="render-test",netfn="chassis",command="other",completion_code="0xc1"} 1"#,
        r#"ipmi_to_metal_backend_calls_total{backend="render-test",operation="power_state",outcome="ok"} 1"#,
        r#"ipmi_to_metal_backend_call_duration_seconds_bucket{backend="render-test",operation="power_state",le="0.0001"} 1"#,
        r#"ipmi_to_metal_backend_call_duration_seconds_bucket{backend="render-test",operation="power_state",le="+Inf"} 1"#,
        r#"ipmi_to_metal_backend_call_duration_seconds_count{backend="render-test",operation="power_state"} 1"#,
        r#"ipmi_to_metal_api_cache_lookups_total{api="render-test",result="hit"} 1"#,
        r#"ipmi_to_metal_api_cache_lookups_total{api="render-test",result="miss"} 0"#,
        r#"ipmi_to_metal_ssh_master_connections 0"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
    let wait = text
        .lines()
        .find_map(|l| {
            l.strip_prefix(r#"ipmi_to_metal_api_rate_limit_wait_seconds{api="render-test"} "#)
        })
        .unwrap();
    let wait: f64 = wait.parse().unwrap();
    assert!((59.0..=60.0).contains(&wait), "{wait}");
    let refused = text
        .lines()
        .find_map(|l| l.strip_prefix(r#"ipmi_to_metal_config_reloads_total{outcome="refused"} "#))
        .unwrap();
    assert!(refused.parse::<u64>().unwrap() >= 1);
}

#[test]
fn the_guide_lists_every_family_with_its_type_and_labels() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/operations.md");
    let readme = std::fs::read_to_string(path).expect("read docs/operations.md");
    let section = readme
        .split("\n## Metrics\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("docs/operations.md has a Metrics section");
    let rows: Vec<(String, String, String)> = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (
                cells[1].trim_matches('`').to_string(),
                cells[2].to_string(),
                cells[3].to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = families::ALL
        .iter()
        .map(|f| (f.name(), f.kind.name().to_string(), f.labels.join(", ")))
        .collect();
    assert_eq!(
        rows, want,
        "the table of metrics in docs/operations.md differs from families::ALL"
    );
}
