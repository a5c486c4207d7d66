//! The Redfish service's HTTP requests, by route pattern (`/redfish/v1/Systems/{id}`, never the
//! path itself), method and status: every label bounded by the code.

use std::collections::HashMap;
use std::sync::Mutex;

/// The methods counted by name; any other is `other`.
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"];

/// A request's labels: route pattern, method, status.
type Labels = (&'static str, &'static str, u16);

static COUNTS: Mutex<Option<HashMap<Labels, u64>>> = Mutex::new(None);

/// Counts one request answered.
pub fn observe(route: &'static str, method: &str, status: u16) {
    let method = METHODS
        .iter()
        .copied()
        .find(|m| *m == method)
        .unwrap_or("other");
    let mut counts = COUNTS.lock().unwrap_or_else(|e| e.into_inner());
    *counts
        .get_or_insert_with(HashMap::new)
        .entry((route, method, status))
        .or_insert(0) += 1;
}

/// Calls `f` with each (route, method, status) and its count, sorted.
pub(crate) fn each(mut f: impl FnMut([&str; 3], u64)) {
    let mut v: Vec<_> = COUNTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(|m| m.iter().map(|(k, n)| (*k, *n)).collect())
        .unwrap_or_default();
    v.sort();
    for ((route, method, status), n) in v {
        f([route, method, &status.to_string()], n);
    }
}
