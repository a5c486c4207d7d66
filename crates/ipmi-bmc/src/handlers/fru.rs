//! FRU device 0: the machine's inventory from the backend, encoded as a FRU image with a chassis,
//! a board and a product info area (Platform Management FRU Information Storage Definition v1.0,
//! sections 8-11). The location (facility/metro) goes in a custom field of each area, which
//! ipmitool shows as "Chassis Extra", "Board Extra" and "Product Extra".

use crate::dispatch::{ok, Outcome};
use crate::{Bmc, Inventory};
use ipmi_proto::cmd::storage::{FruAreaInfo, ReadFruRequest, ReadFruResponse};
use ipmi_proto::types::CompletionCode;

/// The most bytes one Read FRU Data may return; larger reads get 0xCA so that clients shrink them.
const MAX_READ: usize = 128;

impl Bmc {
    /// The inventory the FRU shows: the backend's (an empty one if it has none), with a
    /// product name where it gives none.
    pub(crate) async fn fru_inventory(&self) -> Result<Inventory, crate::BackendError> {
        let mut inv = match self.backend.inventory().await {
            Ok(inv) => inv,
            Err(crate::BackendError::NotSupported) => Inventory::default(),
            Err(e) => {
                self.backend_failed("inventory", &e);
                return Err(e);
            }
        };
        if inv.product.is_empty() {
            inv.product = format!("ipmi-to-metal {}", self.backend.kind());
        }
        Ok(inv)
    }

    async fn fru_image(&self) -> Result<Vec<u8>, CompletionCode> {
        let inv = self
            .fru_inventory()
            .await
            .map_err(|e| e.completion_code())?;
        Ok(encode_fru(&inv))
    }

    pub(crate) async fn fru_area_info(&self, id: u8) -> Outcome {
        if id != 0 {
            return Err(CompletionCode::NOT_PRESENT);
        }
        let image = self.fru_image().await?;
        ok(FruAreaInfo {
            size: image.len() as u16,
            by_words: false,
        })
    }

    pub(crate) async fn read_fru(&self, r: ReadFruRequest) -> Outcome {
        if r.fru_id != 0 {
            return Err(CompletionCode::NOT_PRESENT);
        }
        if usize::from(r.count) > MAX_READ {
            return Err(CompletionCode::CANNOT_RETURN_BYTES);
        }
        let image = self.fru_image().await?;
        let start = usize::from(r.offset);
        if start >= image.len() {
            return Err(CompletionCode::OUT_OF_RANGE);
        }
        let end = (start + usize::from(r.count)).min(image.len());
        ok(ReadFruResponse {
            data: image[start..end].to_vec(),
        })
    }
}

/// The zero checksum of a block: the byte that makes the sum of all bytes 0 (mod 256).
fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |a, b| a.wrapping_add(*b))
        .wrapping_neg()
}

/// An info area: version, length, `prefix` bytes, type/length-coded fields, end marker, padding
/// to 8 bytes, checksum.
fn area(prefix: &[u8], fields: &[&str]) -> Vec<u8> {
    let mut a = vec![0x01, 0];
    a.extend_from_slice(prefix);
    for f in fields {
        let b = &f.as_bytes()[..f.len().min(63)];
        a.push(0xc0 | b.len() as u8);
        a.extend_from_slice(b);
    }
    a.push(0xc1);
    while (a.len() + 1) % 8 != 0 {
        a.push(0);
    }
    a[1] = ((a.len() + 1) / 8) as u8;
    a.push(checksum(&a));
    a
}

/// SMBIOS chassis type "Rack Mount Chassis" (SMBIOS 3.x table 17).
const RACK_MOUNT_CHASSIS: u8 = 0x17;

/// Encodes an inventory as a FRU image: common header, chassis, board and product info areas.
pub(crate) fn encode_fru<'a>(inv: &'a Inventory) -> Vec<u8> {
    let location = inv.location.as_str();
    // Custom fields follow the fixed ones; an empty location adds none.
    let custom: &[&str] = if location.is_empty() {
        &[]
    } else {
        &[location]
    };
    let with_custom =
        |fixed: &[&'a str]| -> Vec<&'a str> { fixed.iter().chain(custom).copied().collect() };
    let chassis = area(
        &[RACK_MOUNT_CHASSIS],
        &with_custom(&[&inv.part_number, &inv.serial]),
    );
    // Board: language English, manufacturing date unspecified.
    let board = area(
        &[0, 0, 0, 0],
        &with_custom(&[
            &inv.manufacturer,
            &inv.product,
            &inv.serial,
            &inv.part_number,
            "",
        ]),
    );
    let product = area(
        &[0],
        &with_custom(&[
            &inv.manufacturer,
            &inv.product,
            &inv.part_number,
            "",
            &inv.serial,
            &inv.asset_tag,
            "",
        ]),
    );
    let chassis_off = 1u8;
    let board_off = chassis_off + (chassis.len() / 8) as u8;
    let product_off = board_off + (board.len() / 8) as u8;
    let mut header = vec![0x01, 0, chassis_off, board_off, product_off, 0, 0];
    header.push(checksum(&header));
    let mut image = header;
    image.extend_from_slice(&chassis);
    image.extend_from_slice(&board);
    image.extend_from_slice(&product);
    image
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_are_aligned_and_sum_to_zero() {
        let inv = Inventory {
            manufacturer: "Equinix".into(),
            product: "c3.small.x86".into(),
            serial: "abc".into(),
            ..Inventory::default()
        };
        let img = encode_fru(&inv);
        assert_eq!(img.len() % 8, 0);
        assert_eq!(checksum(&img[..8]), 0);
        let board = usize::from(img[3]) * 8;
        let product = usize::from(img[4]) * 8;
        let blen = usize::from(img[board + 1]) * 8;
        assert_eq!(board + blen, product);
        assert_eq!(
            img[board..board + blen]
                .iter()
                .fold(0u8, |a, b| a.wrapping_add(*b)),
            0
        );
        assert_eq!(&img[board + 6..board + 6 + 8], b"\xc7Equinix");
        let chassis = usize::from(img[2]) * 8;
        assert_eq!(img[chassis + 2], RACK_MOUNT_CHASSIS);
        assert_eq!(chassis + usize::from(img[chassis + 1]) * 8, board);
    }
}
