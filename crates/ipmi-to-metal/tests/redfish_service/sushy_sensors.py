"""Reads a system's chassis sensors with sushy the way Ironic's redfish management interface
does (`system.chassis_expanded`: one `GET Chassis/{id}?$expand=.($levels=1)`, then the fans,
temperatures and power supplies from the expanded document). Records every request sushy
makes, to show that it read neither `Thermal` nor `Power` on its own. Prints one line per
sensor and one per request; the Rust test checks them."""
import sys

import sushy
from sushy import connector

url, user, password, system = sys.argv[1:5]
requests = []
_op = connector.Connector._op


def recording_op(self, method, path='', *args, **kwargs):
    response = _op(self, method, path, *args, **kwargs)
    requests.append("%s %s %s" % (method, path, response.status_code))
    return response


connector.Connector._op = recording_op


def v(x):
    """An enumeration's value (sushy's own names aside), anything else as it is."""
    return getattr(x, "value", x)

s = sushy.Sushy(url, verify=False,
                auth=sushy.auth.BasicAuth(username=user, password=password))
sysm = s.get_system("/redfish/v1/Systems/" + system)
requests.clear()
chassis = sysm.chassis_expanded[0]
for fan in chassis.thermal.fans:
    print("fan|%s|%s|%s|%s" % (fan.name, fan.reading, v(fan.reading_units), v(fan.status.state)))
for t in chassis.thermal.temperatures:
    print("temperature|%s|%s|%s" % (t.name, t.reading_celsius, v(t.status.state)))
for p in chassis.power.power_supplies:
    print("power_supply|%s|%s|%s" % (p.name, v(p.status.state), v(p.status.health)))
for r in requests:
    print("request|" + r)
