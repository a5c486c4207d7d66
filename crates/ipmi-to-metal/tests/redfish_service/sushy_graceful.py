"""Drives ComputerSystem.Reset GracefulRestart with sushy (Ironic's Redfish library): sushy
checks the reset type against the system's allowed values (from ResetActionInfo) before it
posts it. Prints the allowed values, then each power state seen until the machine is on again
after having been off."""
import sys
import time

import sushy
from sushy import auth

url, user, password, system = sys.argv[1:5]
s = sushy.Sushy(url, verify=False, auth=auth.SessionAuth(username=user, password=password))
sysm = s.get_system("/redfish/v1/Systems/" + system)
print("allowed", " ".join(sorted(v.value for v in sysm.get_allowed_reset_system_values())))
print("power", sysm.power_state.value)
sysm.reset_system(sushy.ResetType.GRACEFUL_RESTART)
seen = []
deadline = time.time() + 60
while time.time() < deadline:
    sysm.refresh()
    state = sysm.power_state.value
    if not seen or seen[-1] != state:
        seen.append(state)
    if "Off" in seen and state == "On":
        break
    time.sleep(0.05)
print("seen", " ".join(seen))
