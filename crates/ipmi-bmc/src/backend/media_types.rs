//! The virtual media a backend may offer: its slots, how an image is fetched, and what a client
//! asks to insert (see [`super::Backend::insert_media`]).

use std::fmt;

/// A virtual media slot (Redfish `MediaTypes`: what the slot takes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaSlot {
    /// A virtual CD/DVD drive (Redfish `CD`).
    Cd,
    /// A virtual USB stick (Redfish `USBStick`).
    UsbStick,
}

impl MediaSlot {
    /// The slot's Redfish resource ID and name in logs (`Cd`, `UsbStick`).
    pub const fn id(self) -> &'static str {
        match self {
            MediaSlot::Cd => "Cd",
            MediaSlot::UsbStick => "UsbStick",
        }
    }

    /// The slot whose [`MediaSlot::id`] is `id`.
    pub fn from_id(id: &str) -> Option<MediaSlot> {
        [MediaSlot::Cd, MediaSlot::UsbStick]
            .into_iter()
            .find(|s| s.id() == id)
    }
}

impl fmt::Display for MediaSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// How the image of a virtual medium is fetched (Redfish `TransferProtocolType`): the ones a
/// machine booting through iPXE, or a BMC behind, can fetch an image with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransferProtocol {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl TransferProtocol {
    /// The Redfish value (`HTTP`, `HTTPS`).
    pub const fn name(self) -> &'static str {
        match self {
            TransferProtocol::Http => "HTTP",
            TransferProtocol::Https => "HTTPS",
        }
    }

    /// The protocol of an image URL, from its scheme.
    pub fn of_url(url: &str) -> Option<TransferProtocol> {
        let scheme = url.split_once("://")?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "http" => Some(TransferProtocol::Http),
            "https" => Some(TransferProtocol::Https),
            _ => None,
        }
    }
}

/// A medium to insert, as the client asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaInsert {
    /// The image URL.
    pub image: String,
    /// Whether the medium is write-protected (a CD always is).
    pub write_protected: bool,
    /// How the image is fetched.
    pub protocol: TransferProtocol,
}
