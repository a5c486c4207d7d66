//! Virtual media in the BMC model, over a machine that netboots an iPXE URL (as the metal
//! backend's device does): the calls the backend gets (the URL installed, the note of what it
//! replaced given back at the eject), the scripts the endpoint answers and when a next-boot-only
//! request is used, and the state read back by a BMC made again over the same directory.

use super::{admin, settings};
use async_trait::async_trait;
use ipmi_bmc::media::Script;
use ipmi_bmc::{
    Asker, Backend, BackendResult, Bmc, BootOverride, MediaInsert, MediaSettings, MediaSlot,
    PowerAction, PowerState, Protocol, Requester, TransferProtocol,
};
use ipmi_proto::types::{CompletionCode, NetFn};
use std::sync::{Arc, Mutex};

/// A machine that netboots what it is told, and says what it was told.
#[derive(Default)]
struct Netbooting {
    calls: Mutex<Vec<String>>,
}

#[async_trait]
impl Backend for Netbooting {
    fn kind(&self) -> &'static str {
        "netbooting"
    }
    async fn power_state(&self) -> BackendResult<PowerState> {
        Ok(PowerState::On)
    }
    async fn power(&self, _: PowerAction, _: &Requester) -> BackendResult<()> {
        Ok(())
    }
    async fn set_boot_override(&self, b: Option<BootOverride>, _: &Requester) -> BackendResult<()> {
        let d = b.map_or("none", |b| b.device.name());
        self.calls.lock().unwrap().push(format!("boot {d}"));
        Ok(())
    }
    async fn boot_override(&self) -> BackendResult<Option<BootOverride>> {
        Ok(None)
    }
    fn boots_ipxe(&self) -> bool {
        true
    }
    async fn boot_ipxe(&self, url: &str, _: &Requester) -> BackendResult<String> {
        let n = self.calls.lock().unwrap().len();
        self.calls.lock().unwrap().push(format!("netboot {url}"));
        Ok(format!("note-{n}"))
    }
    async fn restore_boot(&self, note: &str, _: &Requester) -> BackendResult<()> {
        self.calls.lock().unwrap().push(format!("restore {note}"));
        Ok(())
    }
}

fn asker() -> Asker {
    Asker::outside(
        Requester {
            user: "redfish".into(),
            peer: "127.0.0.1:1".parse().unwrap(),
            bmc: "node1".into(),
        },
        Protocol::Redfish,
    )
}

fn bmc(dir: &std::path::Path, machine: &Arc<Netbooting>) -> Bmc {
    Bmc::new(settings(), machine.clone()).with_media(MediaSettings {
        dir: Some(dir.to_path_buf()),
        ipxe_base: Some("http://10.0.2.2:8081/".into()),
    })
}

fn secret_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_string()
}

const ISO: &str = "http://10.0.2.2:9000/agent.iso";

#[tokio::test]
async fn a_netbooting_machine_gets_the_endpoint_and_its_settings_back() {
    let dir = tempfile::tempdir().unwrap();
    let machine = Arc::new(Netbooting::default());
    let b = bmc(dir.path(), &machine);
    assert_eq!(b.media_slots(), [MediaSlot::Cd]);
    assert!(b.http_boot_offered());
    assert_eq!(b.ipxe_url(), None, "no secret before the first insert");

    let media = MediaInsert {
        image: ISO.into(),
        write_protected: true,
        protocol: TransferProtocol::Http,
    };
    b.insert_media(MediaSlot::Cd, media.clone(), &asker())
        .await
        .unwrap();
    let url = b.ipxe_url().unwrap();
    assert!(url.starts_with("http://10.0.2.2:8081/ipxe/node1/"), "{url}");
    let secret = secret_of(&url);
    assert_eq!(b.ipxe_script(&secret).await, Some(Script::Exit));
    assert_eq!(b.ipxe_script("0").await, None);
    assert_eq!(b.ipxe_script(&"0".repeat(64)).await, None);

    // Boot flags CD, next boot only (Set System Boot Options, parameter 5): no backend boot
    // call, the script sanboots once.
    let flags = [0x05, 0x80, 0x14, 0, 0, 0];
    assert!(admin(&b, NetFn::CHASSIS, 0x08, &flags).await.ccode == CompletionCode::OK);
    assert_eq!(
        b.ipxe_script(&secret).await,
        Some(Script::Sanboot(ISO.into()))
    );
    assert_eq!(b.ipxe_script(&secret).await, Some(Script::Exit));
    let get = admin(&b, NetFn::CHASSIS, 0x09, &[0x05, 0, 0]).await;
    assert_eq!(
        get.data[2] & 0x80,
        0,
        "valid bit cleared once used: {:?}",
        get.data
    );

    // A new insert installs the new URL; the note kept is the first one's.
    b.insert_media(MediaSlot::Cd, media, &asker())
        .await
        .unwrap();
    let secret2 = secret_of(&b.ipxe_url().unwrap());
    assert_ne!(secret2, secret);
    assert_eq!(
        b.ipxe_script(&secret).await,
        None,
        "the old URL answers nothing"
    );

    // An HTTP boot through the endpoint, next boot only.
    b.set_http_boot("http://10.0.2.2:9000/shim.efi", false, &asker())
        .await
        .unwrap();
    assert_eq!(
        b.ipxe_script(&secret2).await,
        Some(Script::Chain("http://10.0.2.2:9000/shim.efi".into()))
    );
    assert_eq!(b.ipxe_script(&secret2).await, Some(Script::Exit));

    // A BMC made again over the same directory has it all.
    let again = bmc(dir.path(), &machine);
    let cd = again.media_status(MediaSlot::Cd).unwrap();
    assert!(cd.inserted && cd.write_protected);
    assert_eq!(cd.image.as_deref(), Some(ISO));
    assert_eq!(cd.connected_via(), "URI");
    assert_eq!(
        again.ipxe_url().map(|u| secret_of(&u)),
        Some(secret2.clone())
    );

    again.eject_media(MediaSlot::Cd, &asker()).await.unwrap();
    assert!(!again.media_status(MediaSlot::Cd).unwrap().inserted);
    let calls = machine.calls.lock().unwrap().clone();
    let kinds: Vec<&str> = calls.iter().map(|c| c.split(' ').next().unwrap()).collect();
    assert_eq!(
        kinds,
        ["netboot", "netboot", "netboot", "netboot", "restore"],
        "{calls:?}"
    );
    assert_eq!(
        calls.last().unwrap(),
        "restore note-0",
        "the first note: what was there"
    );
}

#[tokio::test]
async fn a_disk_boot_puts_the_settings_back_before_the_backend_boots_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let machine = Arc::new(Netbooting::default());
    let b = bmc(dir.path(), &machine);
    let media = MediaInsert {
        image: ISO.into(),
        write_protected: true,
        protocol: TransferProtocol::Http,
    };
    b.insert_media(MediaSlot::Cd, media, &asker())
        .await
        .unwrap();
    // Boot flags: disk, persistent.
    let flags = [0x05, 0xc0, 0x08, 0, 0, 0];
    assert!(admin(&b, NetFn::CHASSIS, 0x08, &flags).await.ccode == CompletionCode::OK);
    let calls = machine.calls.lock().unwrap().clone();
    assert_eq!(calls[1..], ["restore note-0", "boot disk"], "{calls:?}");
    let secret = secret_of(&b.ipxe_url().unwrap());
    assert_eq!(b.ipxe_script(&secret).await, Some(Script::Exit));
}
