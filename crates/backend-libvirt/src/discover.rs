//! Which domains of a hypervisor a `[[libvirt_discovery]]` serves: the persistent domains
//! whose name matches its filter (a glob or a regular expression) and, if it names one, whose
//! `<metadata>` holds its element.

use crate::domain_xml;
use crate::hypervisor::{CallError, Hypervisor};
use ipmi_bmc::BackendResult;
use std::sync::Arc;
use std::time::Duration;

/// A domain found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Its name.
    pub name: String,
    /// Its UUID: the key its address is kept under (a renamed domain keeps its port).
    pub uuid: String,
}

/// What a domain must be to be served.
#[derive(Clone, Debug)]
pub struct Filter {
    /// The name must match this regular expression (a glob is turned into one).
    pub name: regex::Regex,
    /// `(namespace, element)`: the domain's `<metadata>` must hold this element.
    pub metadata: Option<(Option<String>, String)>,
}

/// A glob (`*`: any text, `?`: one character) as an anchored regular expression.
pub fn glob_regex(glob: &str) -> Result<regex::Regex, regex::Error> {
    let mut re = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re)
}

/// Lists the persistent domains `filter` selects, in name order.
pub async fn list(
    hv: &Arc<Hypervisor>,
    filter: &Filter,
    deadline: Duration,
) -> BackendResult<Vec<Found>> {
    let filter = filter.clone();
    hv.call(deadline, move |conn| {
        let all = conn
            .list_all_domains(crate::ffi::LIST_DOMAINS_PERSISTENT)
            .map_err(CallError::from)?;
        let mut out = Vec::new();
        for dom in all {
            // A domain undefined while listed is simply not there.
            let (Ok(name), Ok(uuid)) = (dom.name(), dom.uuid_string()) else {
                continue;
            };
            if !filter.name.is_match(&name) {
                continue;
            }
            if let Some((ns, element)) = &filter.metadata {
                let Ok(xml) = dom.xml_desc(crate::ffi::XML_INACTIVE) else {
                    continue;
                };
                if !domain_xml::has_metadata(&xml, ns.as_deref(), element) {
                    continue;
                }
            }
            out.push(Found { name, uuid });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names() {
        let re = glob_regex("lab-*.vm?").unwrap();
        assert!(re.is_match("lab-1.vm2"));
        assert!(!re.is_match("xlab-1.vm2"));
        assert!(!re.is_match("lab-1xvm2"), "the dot is literal");
        assert!(!re.is_match("lab-1.vm22"));
    }
}
