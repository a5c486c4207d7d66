//! What a reload compares to tell a changed BMC from an unchanged one: a digest of each
//! `[[bmc]]` and `[[metal_discovery]]` table as written (its values, not its layout: comments,
//! spacing and key order do not count), together with what the table only names: the content
//! of every file it reads (`password_file`, `kg_file`, `token_file`, `key_file`, `ca_file`,
//! `known_hosts`...) and the value of every environment variable (`*_env`). A new password in
//! a password file thus restarts the BMCs that read it, while the text of their tables stays.
//!
//! Why digests rather than comparing the validated settings: those hold the settings of seven
//! backend kinds behind trait objects and the secrets in zeroized memory; comparing them would
//! need an equality in every backend crate, and a setting added later without one would go
//! unnoticed. The table and the files it names are where every setting comes from. The digests
//! are keyed with a random key of the process, so that a password's digest kept in memory
//! cannot be checked against guesses.
//!
//! The digests are taken from the text before it is validated, and the files read before the
//! loader reads them: a file changed in between shows up as a change at the next reload (a
//! restart too many), never as no change.

use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use toml::Value;
use zeroize::Zeroizing;

/// A table's digest.
pub type Digest = [u8; 32];

/// The digests of a configuration text, in the order of its tables.
#[derive(Default)]
pub struct Fingerprints {
    /// One per `[[bmc]]`.
    pub bmcs: Vec<Digest>,
    /// One per `[[metal_discovery]]`, then one per `[[libvirt_discovery]]`.
    pub discoveries: Vec<Digest>,
    /// Every other top-level key (`state_dir`, `sel_capacity`, `[admin]`...), which apply at
    /// start only.
    pub others: BTreeMap<String, Digest>,
}

/// The key of this process's digests.
fn process_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(|| {
        use rand::RngCore;
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        k
    })
}

/// A keyed hasher.
fn hasher() -> Sha256 {
    let mut h = Sha256::new();
    h.update(process_key());
    h
}

/// The digests of `text`, whose relative paths are relative to `dir`. Text that is not TOML
/// has none: the loader says what is wrong with it.
pub fn of_text(text: &str, dir: &Path) -> Fingerprints {
    let Ok(top) = toml::from_str::<toml::Table>(text) else {
        return Fingerprints::default();
    };
    let mut files = Files {
        dir,
        seen: HashMap::new(),
    };
    let mut each = |key: &str| -> Vec<Digest> {
        match top.get(key) {
            Some(Value::Array(tables)) => tables.iter().map(|t| files.digest(t)).collect(),
            _ => Vec::new(),
        }
    };
    let bmcs = each("bmc");
    // In the order the loader lists them: the Metal discoveries, then the libvirt ones.
    let mut discoveries = each("metal_discovery");
    discoveries.extend(each("libvirt_discovery"));
    let others = top
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "bmc" | "metal_discovery" | "libvirt_discovery"))
        .map(|(k, v)| (k.clone(), files.digest(v)))
        .collect();
    Fingerprints {
        bmcs,
        discoveries,
        others,
    }
}

/// Whether a key names a file the loader reads (`state_file` is written by discovery, not
/// read as a setting).
fn names_file(key: &str) -> bool {
    (key.ends_with("_file") && key != "state_file")
        || key == "known_hosts"
        || key.ends_with("_known_hosts")
}

/// The files named by the tables digested so far, each read once.
struct Files<'a> {
    dir: &'a Path,
    seen: HashMap<PathBuf, Digest>,
}

impl Files<'_> {
    fn digest(&mut self, v: &Value) -> Digest {
        let mut h = hasher();
        self.value(&mut h, None, v);
        h.finalize().into()
    }

    /// Feeds one value, with its type and length, so that no two values feed the same bytes;
    /// `key` is the key it is under.
    fn value(&mut self, h: &mut Sha256, key: Option<&str>, v: &Value) {
        match v {
            Value::String(s) => {
                bytes(h, b's', s.as_bytes());
                match key {
                    Some(k) if names_file(k) => {
                        let d = self.file(s);
                        bytes(h, b'F', &d);
                    }
                    Some(k) if k.ends_with("_env") => {
                        let value = std::env::var_os(s)
                            .map(|v| Zeroizing::new(std::os::unix::ffi::OsStringExt::into_vec(v)));
                        match value {
                            Some(v) => bytes(h, b'E', &v),
                            None => bytes(h, b'e', b""),
                        }
                    }
                    _ => {}
                }
            }
            Value::Integer(i) => bytes(h, b'i', &i.to_le_bytes()),
            Value::Float(f) => bytes(h, b'f', &f.to_bits().to_le_bytes()),
            Value::Boolean(b) => bytes(h, b'b', &[u8::from(*b)]),
            Value::Datetime(d) => bytes(h, b'd', d.to_string().as_bytes()),
            Value::Array(a) => {
                bytes(h, b'a', &(a.len() as u64).to_le_bytes());
                for item in a {
                    self.value(h, key, item);
                }
            }
            Value::Table(t) => {
                bytes(h, b't', &(t.len() as u64).to_le_bytes());
                let mut keys: Vec<&String> = t.keys().collect();
                keys.sort();
                for k in keys {
                    bytes(h, b'k', k.as_bytes());
                    self.value(h, Some(k), &t[k.as_str()]);
                }
            }
        }
    }

    /// The digest of a named file's content (or of why it cannot be read).
    fn file(&mut self, name: &str) -> Digest {
        let path = self.dir.join(name);
        if let Some(d) = self.seen.get(&path) {
            return *d;
        }
        let mut h = hasher();
        match std::fs::read(&path) {
            Ok(content) => bytes(&mut h, b'c', &Zeroizing::new(content)),
            Err(e) => bytes(&mut h, b'x', format!("{:?}", e.kind()).as_bytes()),
        }
        let d: Digest = h.finalize().into();
        self.seen.insert(path, d);
        d
    }
}

/// Feeds a tag, a length and bytes.
fn bytes(h: &mut Sha256, tag: u8, b: &[u8]) {
    h.update([tag]);
    h.update((b.len() as u64).to_le_bytes());
    h.update(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    const BMC: &str = "[[bmc]]\nname = \"a\"\nlisten = \"127.0.0.1:1\"\n[[bmc.users]]\nname = \"admin\"\npassword_file = \"a.pass\"\n";

    #[test]
    fn layout_does_not_count_values_and_named_files_do() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.pass"), "one").unwrap();
        let first = of_text(BMC, dir.path());
        assert_eq!(first.bmcs.len(), 1);
        let relaid = "# a comment\n[[bmc]]\nlisten = \"127.0.0.1:1\"\nname = \"a\"\n\n[[bmc.users]]\npassword_file = \"a.pass\"\nname = \"admin\"\n";
        assert_eq!(of_text(relaid, dir.path()).bmcs, first.bmcs);
        let moved = BMC.replace(":1\"", ":2\"");
        assert_ne!(of_text(&moved, dir.path()).bmcs, first.bmcs);
        std::fs::write(dir.path().join("a.pass"), "two").unwrap();
        assert_ne!(of_text(BMC, dir.path()).bmcs, first.bmcs, "a new password");
        std::fs::remove_file(dir.path().join("a.pass")).unwrap();
        assert_ne!(of_text(BMC, dir.path()).bmcs, first.bmcs, "a password gone");
    }

    #[test]
    fn environment_variables_count_and_other_keys_are_apart() {
        let dir = tempfile::tempdir().unwrap();
        let var = format!("ITM_FINGERPRINT_TEST_{}", std::process::id());
        let text = format!(
            "state_dir = \"s\"\n[admin]\nlisten = \"127.0.0.1:9\"\n[[metal_discovery]]\ntoken_env = \"{var}\"\n"
        );
        std::env::set_var(&var, "t1");
        let first = of_text(&text, dir.path());
        std::env::set_var(&var, "t2");
        let second = of_text(&text, dir.path());
        std::env::remove_var(&var);
        assert_eq!(first.discoveries.len(), 1);
        assert_ne!(first.discoveries, second.discoveries);
        assert_eq!(first.others, second.others);
        let keys: Vec<&str> = first.others.keys().map(String::as_str).collect();
        assert_eq!(keys, ["admin", "state_dir"]);
        assert!(of_text("not toml [", dir.path()).bmcs.is_empty());
    }
}
