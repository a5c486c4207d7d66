//! The ipmi backend towards a BMC slower than its `timeout_ms`: the BMC behind (OpenIPMI's
//! `ipmi_sim`, frozen with SIGSTOP while a request is out) answers the request and its
//! retransmission both. The late second answer must not be taken as the reply to the next
//! request: a Get Chassis Status answer taken for Chassis Control's would report a power action
//! that was never confirmed, and shift every later answer by one.

mod common;
use common::*;
use std::time::Duration;
use test_support::IpmiSim;

#[test]
fn a_late_answer_from_the_bmc_behind_is_not_the_reply_to_the_next_request() {
    let sim = IpmiSim::start();
    let port = free_port();
    let config = config_with_backend(
        port,
        "ipmi",
        &format!(
            "[bmc.ipmi]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"admin\"\npassword_env = \"TEST_SIM_PASSWORD\"\ntimeout_ms = 300\nretries = 2\n",
            sim.addr.port()
        ),
    );
    let bmc = Bmc::start_config(port, &config);
    let status = |bmc: &Bmc| admin(bmc, "chassis power status").trim().to_string();
    assert_eq!(status(&bmc), "Chassis Power is on");
    // Frozen while Get Chassis Status goes out and times out once, thawed during the second try:
    // the simulator answers both tries.
    sim.pause();
    let slow = std::thread::scope(|scope| {
        let slow = scope.spawn(|| admin_run(&bmc, "chassis power status"));
        std::thread::sleep(Duration::from_millis(450));
        sim.resume();
        slow.join().unwrap()
    });
    assert_eq!(slow.out().trim(), "Chassis Power is on");
    assert!(admin(&bmc, "chassis power off").contains("Down/Off"));
    assert_eq!(sim.power(), "0", "{}", sim.actions());
    assert_eq!(
        status(&bmc),
        "Chassis Power is off",
        "log:\n{}",
        bmc.server_log()
    );
    assert!(admin(&bmc, "chassis power on").contains("Up/On"));
    assert_eq!(status(&bmc), "Chassis Power is on");
}
