"""Drives the shim's Redfish service with sushy (Ironic's Redfish library), with a session:
power, boot override (Once, Continuous, UEFI), the SEL (sushy has no LogService resource: read
and cleared through sushy's own connection and session), and the session itself. Prints one
line per step; the Rust test checks them."""
import sys
import time

import sushy
from sushy import auth

url, user, password, system = sys.argv[1:5]
s = sushy.Sushy(url, verify=False, auth=auth.SessionAuth(username=user, password=password))
print("systems", sorted(s.get_system_collection().members_identities))
sysm = s.get_system("/redfish/v1/Systems/" + system)
print("power", sysm.power_state.value)
sysm.reset_system(sushy.ResetType.FORCE_OFF)
sysm.refresh()
print("power", sysm.power_state.value)
sysm.set_system_boot_options(sushy.BootSource.PXE, enabled=sushy.BootSourceOverrideEnabled.ONCE,
                             mode=sushy.BootSourceOverrideMode.UEFI)
sysm.refresh()
print("boot", sysm.boot.target.value, sysm.boot.enabled.value, sysm.boot.mode.value)
sysm.reset_system(sushy.ResetType.ON)
for _ in range(50):
    sysm.refresh()
    if sysm.power_state == sushy.PowerState.ON:
        break
    time.sleep(0.1)
print("power", sysm.power_state.value)
print("boot", sysm.boot.target.value, sysm.boot.enabled.value, sysm.boot.mode.value)
sysm.set_system_boot_options(sushy.BootSource.HDD, enabled=sushy.BootSourceOverrideEnabled.CONTINUOUS)
sysm.refresh()
print("boot", sysm.boot.target.value, sysm.boot.enabled.value, sysm.boot.mode.value)
sel = "/redfish/v1/Managers/%s/LogServices/SEL" % system
entries = s._conn.get(sel + "/Entries").json()["Members"]
print("sel", len(entries))
s._conn.post(sel + "/Actions/LogService.ClearLog", data={})
print("sel", len(s._conn.get(sel + "/Entries").json()["Members"]))
print("timeout", s.get_session_service().session_timeout)
sessions = s.get_session_service().sessions.get_members()
print("sessions", len(sessions))
