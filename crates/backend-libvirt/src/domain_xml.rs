//! What the backend reads from a domain's XML definition and the one edit it makes: the boot
//! order. The edit works on the byte ranges of the parsed document, so everything else in the
//! definition stays exactly as libvirt wrote it.
//!
//! Boot order: a domain gives it either as `<os><boot dev='...'/>` elements (device classes:
//! `hd`, `network`, `cdrom`, `fd`) or as `<boot order='N'/>` inside devices; libvirt refuses
//! both at once. Reading takes either. Writing (as virtualbmc and sushy-tools do) removes every
//! `<boot>` and writes `<os><boot dev>` elements: the chosen class first, then the classes of
//! the order it had, each once.

use ipmi_bmc::{BootDevice, Inventory};
use roxmltree::{Document, Node};

/// A boot device class of `<os><boot dev>`.
pub type BootDev = &'static str;

/// The class libvirt boots for an IPMI boot device, or `None` for those a domain has no
/// equivalent of (diagnostic partition, BIOS setup).
pub fn dev_of(device: BootDevice) -> Option<BootDev> {
    Some(match device {
        BootDevice::Pxe => "network",
        BootDevice::Disk | BootDevice::DiskSafe | BootDevice::RemoteDisk => "hd",
        BootDevice::Cdrom | BootDevice::RemoteCdrom | BootDevice::RemoteMedia => "cdrom",
        BootDevice::Floppy | BootDevice::RemoteFloppy => "fd",
        BootDevice::Diag | BootDevice::BiosSetup => return None,
    })
}

/// The IPMI boot device of a class.
pub fn device_of(dev: &str) -> Option<BootDevice> {
    Some(match dev {
        "network" => BootDevice::Pxe,
        "hd" => BootDevice::Disk,
        "cdrom" => BootDevice::Cdrom,
        "fd" => BootDevice::Floppy,
        _ => return None,
    })
}

fn parse(xml: &str) -> Result<Document<'_>, String> {
    Document::parse(xml).map_err(|e| format!("unreadable domain XML: {e}"))
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

fn os<'a, 'i>(doc: &'a Document<'i>) -> Option<Node<'a, 'i>> {
    child(doc.root_element(), "os")
}

/// The class of a device element with a `<boot order>`.
fn class_of(device: Node) -> Option<BootDev> {
    match (device.tag_name().name(), device.attribute("device")) {
        ("disk", Some("cdrom")) => Some("cdrom"),
        ("disk", Some("floppy")) => Some("fd"),
        ("disk", _) => Some("hd"),
        ("interface", _) => Some("network"),
        _ => None,
    }
}

/// The boot order, as device classes in order (each once).
pub fn boot_order(xml: &str) -> Result<Vec<String>, String> {
    let doc = parse(xml)?;
    let mut out: Vec<String> = Vec::new();
    let mut push = |dev: &str| {
        if !out.iter().any(|d| d == dev) {
            out.push(dev.to_string());
        }
    };
    if let Some(os) = os(&doc) {
        for boot in os.children().filter(|n| n.has_tag_name("boot")) {
            if let Some(dev) = boot.attribute("dev") {
                push(dev);
            }
        }
    }
    if let Some(devices) = child(doc.root_element(), "devices") {
        let mut ordered: Vec<(u32, BootDev)> = devices
            .children()
            .filter(|d| d.is_element())
            .filter_map(|d| {
                let order = child(d, "boot")?.attribute("order")?.parse().ok()?;
                Some((order, class_of(d)?))
            })
            .collect();
        ordered.sort();
        for (_, dev) in ordered {
            push(dev);
        }
    }
    Ok(out)
}

/// The definition with the boot order `devs` (`<os><boot dev>` elements), every other `<boot>`
/// removed.
pub fn with_boot_order(xml: &str, devs: &[String]) -> Result<String, String> {
    let doc = parse(xml)?;
    let os = os(&doc).ok_or("the domain XML has no <os> element")?;
    let after = child(os, "type")
        .map(|t| t.range().end)
        .ok_or("the domain XML has no <os><type> element")?;
    let mut remove: Vec<std::ops::Range<usize>> = os
        .children()
        .filter(|n| n.has_tag_name("boot"))
        .map(|n| n.range())
        .collect();
    if let Some(devices) = child(doc.root_element(), "devices") {
        for d in devices.children().filter(|d| d.is_element()) {
            remove.extend(
                d.children()
                    .filter(|n| n.has_tag_name("boot"))
                    .map(|n| n.range()),
            );
        }
    }
    let boot: String = devs
        .iter()
        .map(|d| format!("<boot dev='{}'/>", escape(d)))
        .collect();
    let mut out = String::with_capacity(xml.len() + boot.len());
    let mut at = 0;
    let mut inserted = false;
    remove.sort_by_key(|r| r.start);
    for r in remove
        .iter()
        .map(|r| (r.start, r.end))
        .chain(std::iter::once((xml.len(), xml.len())))
    {
        if !inserted && after <= r.0 {
            out.push_str(&xml[at..after]);
            out.push_str(&boot);
            at = after;
            inserted = true;
        }
        out.push_str(&xml[at..r.0]);
        at = r.1;
    }
    Ok(out)
}

/// The order with `dev` first and the others as they were.
pub fn first(order: &[String], dev: &str) -> Vec<String> {
    std::iter::once(dev.to_string())
        .chain(order.iter().filter(|d| *d != dev).cloned())
        .collect()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('\'', "&apos;")
        .replace('<', "&lt;")
}

/// Whether the domain boots UEFI firmware (`<os firmware='efi'>` or a pflash loader).
pub fn is_efi(xml: &str) -> Result<bool, String> {
    let doc = parse(xml)?;
    let Some(os) = os(&doc) else { return Ok(false) };
    Ok(os.attribute("firmware") == Some("efi")
        || child(os, "loader").is_some_and(|l| l.attribute("type") == Some("pflash")))
}

/// FRU 0 and the GUID from the definition: the SMBIOS `<sysinfo>` system entries where set,
/// else the domain's name (product, asset tag) and UUID (serial number, GUID).
pub fn inventory(xml: &str) -> Result<Inventory, String> {
    let doc = parse(xml)?;
    let root = doc.root_element();
    let text = |name: &str| {
        child(root, name)
            .and_then(|n| n.text())
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let (name, uuid) = (text("name"), text("uuid"));
    let entry = |block: &str, entry: &str| -> Option<String> {
        let sysinfo = root
            .children()
            .find(|n| n.has_tag_name("sysinfo") && n.attribute("type") == Some("smbios"))?;
        child(sysinfo, block)?
            .children()
            .find(|e| e.has_tag_name("entry") && e.attribute("name") == Some(entry))
            .and_then(|e| e.text())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    };
    let guid_text = entry("system", "uuid").unwrap_or_else(|| uuid.clone());
    Ok(Inventory {
        manufacturer: entry("system", "manufacturer").unwrap_or_else(|| "QEMU".into()),
        product: entry("system", "product").unwrap_or_else(|| name.clone()),
        serial: entry("system", "serial").unwrap_or_else(|| uuid.clone()),
        part_number: entry("system", "sku").unwrap_or_else(|| "libvirt domain".into()),
        asset_tag: entry("chassis", "asset").unwrap_or_else(|| name.clone()),
        location: String::new(),
        guid: guid_of(&guid_text),
    })
}

/// A UUID as an IPMI GUID (see [`ipmi_bmc::guid_from_uuid`]).
pub use ipmi_bmc::guid_from_uuid as guid_of;

/// Whether the definition's `<metadata>` holds an element named `element` (in any namespace, or
/// in namespace `ns` if given).
pub fn has_metadata(xml: &str, ns: Option<&str>, element: &str) -> bool {
    let Ok(doc) = parse(xml) else { return false };
    let Some(meta) = child(doc.root_element(), "metadata") else {
        return false;
    };
    meta.children().any(|n| {
        n.is_element()
            && n.tag_name().name() == element
            && ns.is_none_or(|ns| n.tag_name().namespace() == Some(ns))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OS_BOOT: &str = "<domain type='qemu'><name>vm1</name><uuid>0f0c3a4e-1111-4a5e-9d7e-000000000001</uuid>\n  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n    <boot dev='hd'/>\n    <boot dev='cdrom'/>\n    <bios useserial='yes'/>\n  </os>\n  <devices><disk type='file' device='disk'><target dev='vda'/></disk></devices>\n</domain>";

    const PER_DEVICE: &str = "<domain><os><type>hvm</type></os><devices><disk device='disk'><boot order='2'/></disk><interface type='user'><boot order='1'/></interface><disk device='cdrom'/></devices></domain>";

    #[test]
    fn boot_order_from_os_or_devices() {
        assert_eq!(boot_order(OS_BOOT).unwrap(), ["hd", "cdrom"]);
        assert_eq!(boot_order(PER_DEVICE).unwrap(), ["network", "hd"]);
    }

    #[test]
    fn rewriting_the_order_keeps_everything_else() {
        let out =
            with_boot_order(OS_BOOT, &first(&["hd".into(), "cdrom".into()], "network")).unwrap();
        assert_eq!(boot_order(&out).unwrap(), ["network", "hd", "cdrom"]);
        assert!(out.contains("<bios useserial='yes'/>"), "{out}");
        assert!(out.contains("<type arch='x86_64' machine='pc'>hvm</type><boot dev='network'/>"));
        let out = with_boot_order(PER_DEVICE, &["hd".into()]).unwrap();
        assert!(!out.contains("order="), "{out}");
        assert_eq!(boot_order(&out).unwrap(), ["hd"]);
        assert!(out.contains("<interface type='user'></interface>"), "{out}");
    }

    #[test]
    fn inventory_from_sysinfo_or_name_and_uuid() {
        let inv = inventory(OS_BOOT).unwrap();
        assert_eq!(inv.product, "vm1");
        assert_eq!(inv.serial, "0f0c3a4e-1111-4a5e-9d7e-000000000001");
        assert_eq!(inv.guid.unwrap()[0], 0x01);
        let with = OS_BOOT.replace(
            "<os>",
            "<sysinfo type='smbios'><system><entry name='manufacturer'>Acme</entry><entry name='serial'>S-42</entry></system></sysinfo><os>",
        );
        let inv = inventory(&with).unwrap();
        assert_eq!(
            (inv.manufacturer.as_str(), inv.serial.as_str()),
            ("Acme", "S-42")
        );
    }

    #[test]
    fn firmware_and_metadata() {
        assert!(!is_efi(OS_BOOT).unwrap());
        assert!(is_efi(&OS_BOOT.replace("<os>", "<os firmware='efi'>")).unwrap());
        let meta = OS_BOOT.replace(
            "<os>",
            "<metadata><bmc:ipmi xmlns:bmc='https://example.org/bmc'/></metadata><os>",
        );
        assert!(has_metadata(&meta, None, "ipmi"));
        assert!(has_metadata(&meta, Some("https://example.org/bmc"), "ipmi"));
        assert!(!has_metadata(&meta, Some("https://other"), "ipmi"));
        assert!(!has_metadata(OS_BOOT, None, "ipmi"));
    }
}
