//! Embeds the DMTF CSDL schema files the service's `$metadata` references (the roots below) and
//! every file they reference in turn, from the bundle of the `nv-redfish-schema` crate (DMTF's
//! DSP8010 as published in DMTF/Redfish-Publications), instead of all 270-odd files.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

/// The schema files of the resources this service serves.
const ROOTS: &[&str] = &[
    "ServiceRoot_v1.xml",
    "ComputerSystemCollection_v1.xml",
    "ComputerSystem_v1.xml",
    "ManagerCollection_v1.xml",
    "Manager_v1.xml",
    "ChassisCollection_v1.xml",
    "Chassis_v1.xml",
    "Thermal_v1.xml",
    "Power_v1.xml",
    "EthernetInterfaceCollection_v1.xml",
    "EthernetInterface_v1.xml",
    "LogServiceCollection_v1.xml",
    "LogService_v1.xml",
    "LogEntryCollection_v1.xml",
    "LogEntry_v1.xml",
    "SessionService_v1.xml",
    "SessionCollection_v1.xml",
    "Session_v1.xml",
    "AccountService_v1.xml",
    "ManagerAccountCollection_v1.xml",
    "ManagerAccount_v1.xml",
    "RoleCollection_v1.xml",
    "Role_v1.xml",
    "ActionInfo_v1.xml",
    "Message_v1.xml",
    "RedfishError_v1.xml",
    "RedfishExtensions_v1.xml",
];

fn main() {
    let dir = Path::new(nv_redfish_schema::REDFISH_CSDL_DIR);
    let mut todo: Vec<String> = ROOTS.iter().map(|s| s.to_string()).collect();
    let mut found = BTreeSet::new();
    while let Some(name) = todo.pop() {
        if found.contains(&name) {
            continue;
        }
        let path = dir.join(&name);
        let Ok(text) = std::fs::read_to_string(&path) else {
            // Referenced but not in the bundle (OData vocabularies): the client has its own.
            continue;
        };
        for part in text.split("Uri=\"").skip(1) {
            let uri = part.split('"').next().unwrap_or("");
            if let Some(file) = uri.strip_prefix("http://redfish.dmtf.org/schemas/v1/") {
                todo.push(file.to_string());
            }
        }
        found.insert(name);
    }
    let mut out = String::from(
        "/// The embedded CSDL files, by name.\npub static SCHEMAS: &[(&str, &[u8])] = &[\n",
    );
    for name in &found {
        let path = dir.join(name);
        writeln!(
            out,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out_dir).join("schemas.rs"), out).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed=build.rs");
}
