//! End to end with pyghmi's `Command` (the client library of OpenStack Ironic's pyghmi-based
//! drivers and virtualbmc), from PyPI.

mod common;
use common::*;
use std::process::Command;

const SCRIPT: &str = r#"
import os, sys
from pyghmi.ipmi import command
c = command.Command(bmc='127.0.0.1', port=int(sys.argv[1]), userid='admin',
                    password=os.environ['BMC_PASSWORD'])
print('power', c.get_power()['powerstate'])
print('off', c.set_power('off', wait=True)['powerstate'])
print('on', c.set_power('on', wait=True)['powerstate'])
print('reset', c.set_power('reset', wait=True))
print('setboot', c.set_bootdev('network', persist=True, uefiboot=True)['bootdev'])
b = c.get_bootdev()
print('getboot', b['bootdev'], b['persistent'], b['uefimode'])
print('setboot', c.set_bootdev('hd')['bootdev'])
b = c.get_bootdev()
print('getboot', b['bootdev'], b['persistent'], b['uefimode'])
c.ipmi_session.logout()
"#;

#[test]
fn pyghmi_power_with_wait_and_boot_device() {
    let python = require_python_module("pyghmi.ipmi.command");
    let bmc = Bmc::start();
    let r = run(Command::new("timeout")
        .arg("120")
        .arg(&python)
        .args(["-c", SCRIPT, &bmc.port.to_string()])
        .env("BMC_PASSWORD", ADMIN_PASSWORD));
    let out = r.out();
    let want = "power on\noff off\non on\nreset {'pendingpowerstate': 'reset'}\nsetboot network\ngetboot network True True\nsetboot hd\ngetboot hd False False\n";
    assert_eq!(out, want);
    assert_eq!(
        admin(&bmc, "raw 0x00 0x09 0x05 0x00 0x00").trim(),
        "01 05 80 08 00 00 00"
    );
}
