//! The iPXE scripts the shim's endpoint answers, the machine's script URL, and the checks on
//! what goes into a script (an image URL is written into it, so it must not be able to add a
//! command or expand a setting).

use subtle::ConstantTimeEq;

/// How many random bytes the secret of a script URL has (hex-encoded in the URL).
const SECRET_BYTES: usize = 32;

/// A fresh secret for a machine's script URL.
pub(crate) fn new_secret() -> String {
    let bytes: [u8; SECRET_BYTES] = rand::random();
    hex_encode(&bytes)
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `given` is `secret`, in time that does not depend on where they differ.
pub(crate) fn secret_matches(secret: &str, given: &str) -> bool {
    secret.len() == given.len() && bool::from(secret.as_bytes().ct_eq(given.as_bytes()))
}

/// The path of BMC `name`'s script with `secret`: `/ipxe/NAME/SECRET`, the name
/// percent-encoded.
pub fn script_path(name: &str, secret: &str) -> String {
    let mut path = String::from("/ipxe/");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            path.push(b as char);
        } else {
            path.push_str(&format!("%{b:02X}"));
        }
    }
    path.push('/');
    path.push_str(secret);
    path
}

/// Why a URL cannot go into a script or a machine's boot settings.
pub(crate) fn check_url(url: &str, what: &str) -> Result<(), String> {
    if url.len() > 2048 {
        return Err(format!("{what} is longer than 2048 bytes"));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!("{what} is not an absolute URL"));
    };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") || rest.is_empty() {
        return Err(format!("{what} must be an http:// or https:// URL"));
    }
    if url.bytes().any(|b| !(0x21..0x7f).contains(&b)) {
        return Err(format!(
            "{what} has a space, control or non-ASCII character (percent-encode it)"
        ));
    }
    // iPXE expands ${name} in a script's commands.
    if url.contains("${") {
        return Err(format!("{what} contains \"${{\" (percent-encode the $)"));
    }
    Ok(())
}

/// What a script does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Script {
    /// Boot the ISO at this URL as a SAN disk (`sanboot --no-describe`).
    Sanboot(String),
    /// Chain the EFI binary or iPXE script at this URL.
    Chain(String),
    /// Nothing is asked: leave iPXE, so that the firmware boots the next device (the disk).
    Exit,
}

impl Script {
    /// The name of what it does, for logs (`sanboot`, `chain`, `exit`).
    pub fn name(&self) -> &'static str {
        match self {
            Script::Sanboot(_) => "sanboot",
            Script::Chain(_) => "chain",
            Script::Exit => "exit",
        }
    }

    /// The script's text.
    pub fn text(&self) -> String {
        match self {
            Script::Sanboot(url) => format!(
                "#!ipxe\n\
                 echo ipmi-to-metal: booting virtual media CD {url}\n\
                 sanboot --no-describe {url} || goto failed\n\
                 :failed\n\
                 echo ipmi-to-metal: could not boot {url}\n\
                 exit 1\n"
            ),
            Script::Chain(url) => format!(
                "#!ipxe\n\
                 echo ipmi-to-metal: HTTP boot {url}\n\
                 chain --autofree {url} || goto failed\n\
                 :failed\n\
                 echo ipmi-to-metal: could not boot {url}\n\
                 exit 1\n"
            ),
            Script::Exit => {
                "#!ipxe\necho ipmi-to-metal: no virtual media boot asked\nexit\n".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_that_could_change_a_script_are_refused() {
        assert!(check_url("http://10.0.2.2:8080/ipxe.iso", "image").is_ok());
        assert!(check_url("https://h/a.iso?x=1", "image").is_ok());
        for bad in [
            "http://h/a.iso\nshell",
            "http://h/a b.iso",
            "http://h/${net0/mac}.iso",
            "ftp://h/a.iso",
            "nfs://h/a.iso",
            "/a.iso",
            "http://",
        ] {
            assert!(check_url(bad, "image").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn secrets_are_long_random_and_compared_whole() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(secret_matches(&a, &a.clone()));
        assert!(!secret_matches(&a, &b));
        assert!(!secret_matches(&a, &a[..63]));
        assert_eq!(script_path("rack 1/node", "ab"), "/ipxe/rack%201%2Fnode/ab");
    }

    #[test]
    fn scripts() {
        let s = Script::Sanboot("http://h/x.iso".into()).text();
        assert!(s.starts_with("#!ipxe\n"));
        assert!(s.contains("\nsanboot --no-describe http://h/x.iso "));
        assert!(Script::Chain("http://h/x.efi".into())
            .text()
            .contains("\nchain --autofree http://h/x.efi "));
        assert!(Script::Exit.text().ends_with("\nexit\n"));
    }
}
