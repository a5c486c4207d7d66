//! The domain's CD-ROM in its XML: which CD-ROM drives it has and what is in them, the `<disk>`
//! element that changes a drive's medium (what `virsh change-media` gives
//! `virDomainUpdateDeviceFlags`), and the definition with a CD-ROM drive added where it has none.
//!
//! A medium change passes the drive's own element back with only its source changed: libvirt
//! refuses an update that changes anything else of the disk (its bus, its boot order...). Edits
//! copy the byte ranges of the parsed document, so everything else stays as libvirt wrote it.

use roxmltree::{Document, Node};

/// A CD-ROM drive of the domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cdrom {
    /// Its target device name (`hdc`, `sda`), which names it in an update.
    pub target: String,
    /// The file (or block device) of the medium in it, if any.
    pub source: Option<String>,
}

fn parse(xml: &str) -> Result<Document<'_>, String> {
    Document::parse(xml).map_err(|e| format!("unreadable domain XML: {e}"))
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

fn disks<'a, 'i>(doc: &'a Document<'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    child(doc.root_element(), "devices")
        .into_iter()
        .flat_map(|d| d.children())
        .filter(|n| n.has_tag_name("disk"))
}

fn target_of(disk: Node) -> Option<String> {
    child(disk, "target")?.attribute("dev").map(str::to_string)
}

/// The domain's CD-ROM drives, in the definition's order.
pub fn cdroms(xml: &str) -> Result<Vec<Cdrom>, String> {
    let doc = parse(xml)?;
    Ok(disks(&doc)
        .filter(|d| d.attribute("device") == Some("cdrom"))
        .filter_map(|d| {
            Some(Cdrom {
                target: target_of(d)?,
                source: child(d, "source")
                    .and_then(|s| s.attribute("file").or(s.attribute("dev")))
                    .map(str::to_string),
            })
        })
        .collect())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('\'', "&apos;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The `<disk>` element of CD-ROM `target` with the medium `file` in it (`None`: empty, the
/// eject), for `virDomainUpdateDeviceFlags`; `None` if the domain has no such drive.
pub fn medium_update(
    xml: &str,
    target: &str,
    file: Option<&str>,
) -> Result<Option<String>, String> {
    let doc = parse(xml)?;
    let Some(disk) = disks(&doc).find(|d| {
        d.attribute("device") == Some("cdrom") && target_of(*d).as_deref() == Some(target)
    }) else {
        return Ok(None);
    };
    let mut out = String::from("<disk type='file' device='cdrom'");
    for a in disk.attributes() {
        if a.name() != "type" && a.name() != "device" && a.namespace().is_none() {
            out.push_str(&format!(" {}='{}'", a.name(), escape(a.value())));
        }
    }
    out.push('>');
    for c in disk.children().filter(|c| c.is_element()) {
        // The old medium's source and what libvirt read of it go; the rest stays.
        if !matches!(c.tag_name().name(), "source" | "backingStore") {
            out.push_str(&xml[c.range()]);
        }
    }
    if let Some(file) = file {
        out.push_str(&format!("<source file='{}'/>", escape(file)));
    }
    out.push_str("</disk>");
    Ok(Some(out))
}

/// The definition with a CD-ROM drive added holding `file`, on the bus the machine type has
/// for one (SATA on q35, IDE on the PC machine), with a target name no disk uses.
pub fn with_cdrom_added(xml: &str, file: &str) -> Result<String, String> {
    let doc = parse(xml)?;
    let root = doc.root_element();
    let machine = child(root, "os")
        .and_then(|os| child(os, "type"))
        .and_then(|t| t.attribute("machine"))
        .unwrap_or("");
    let devices = child(root, "devices").ok_or("the domain XML has no <devices> element")?;
    let used: Vec<String> = disks(&doc).filter_map(target_of).collect();
    let (bus, names): (&str, Vec<String>) = if machine.contains("q35") {
        (
            "sata",
            (b'a'..=b'z').map(|c| format!("sd{}", c as char)).collect(),
        )
    } else {
        // The PC machine's IDE has four places; the usual one for a CD-ROM first.
        (
            "ide",
            ["hdc", "hdd", "hda", "hdb"].map(String::from).to_vec(),
        )
    };
    let target = names
        .into_iter()
        .find(|n| !used.contains(n))
        .ok_or_else(|| format!("no free {bus} place for a CD-ROM drive: add one to the domain"))?;
    let text = &xml[devices.range()];
    let close = text
        .rfind("</")
        .ok_or("the domain's <devices> element is empty: no place for a CD-ROM drive")?;
    let at = devices.range().start + close;
    Ok(format!(
        "{}<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='{}'/><target dev='{target}' bus='{bus}'/><readonly/></disk>{}",
        &xml[..at],
        escape(file),
        &xml[at..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PC: &str = "<domain><os><type arch='x86_64' machine='pc-i440fx-9.2'>hvm</type></os><devices>\n<disk type='file' device='disk'><source file='/d.img'/><target dev='vda' bus='virtio'/></disk>\n</devices></domain>";

    const WITH_CD: &str = "<domain><os><type machine='pc'>hvm</type></os><devices><disk type='block' device='cdrom' snapshot='no'><driver name='qemu' type='raw'/><source dev='/dev/sr0' index='2'/><backingStore/><target dev='hdc' bus='ide'/><readonly/><boot order='1'/><address type='drive' controller='0' bus='1' target='0' unit='0'/></disk></devices></domain>";

    #[test]
    fn a_drive_is_added_where_there_is_none() {
        assert!(cdroms(PC).unwrap().is_empty());
        let out = with_cdrom_added(PC, "/pool/a b&c.iso").unwrap();
        assert_eq!(
            cdroms(&out).unwrap(),
            [Cdrom {
                target: "hdc".into(),
                source: Some("/pool/a b&c.iso".into())
            }]
        );
        assert!(out.contains("<target dev='hdc' bus='ide'/>"), "{out}");
        assert!(out.contains("<source file='/d.img'/>"), "{out}");
        let q35 = PC.replace("pc-i440fx-9.2", "pc-q35-9.2");
        let out = with_cdrom_added(&q35, "/x.iso").unwrap();
        assert!(out.contains("<target dev='sda' bus='sata'/>"), "{out}");
    }

    #[test]
    fn a_medium_change_keeps_the_drive_and_replaces_its_source() {
        let up = medium_update(WITH_CD, "hdc", Some("/pool/x.iso"))
            .unwrap()
            .unwrap();
        assert_eq!(
            up,
            "<disk type='file' device='cdrom' snapshot='no'><driver name='qemu' type='raw'/><target dev='hdc' bus='ide'/><readonly/><boot order='1'/><address type='drive' controller='0' bus='1' target='0' unit='0'/><source file='/pool/x.iso'/></disk>"
        );
        let eject = medium_update(WITH_CD, "hdc", None).unwrap().unwrap();
        assert!(!eject.contains("<source"), "{eject}");
        assert_eq!(medium_update(WITH_CD, "hdd", None).unwrap(), None);
        assert_eq!(
            cdroms(WITH_CD).unwrap()[0].source.as_deref(),
            Some("/dev/sr0")
        );
    }
}
