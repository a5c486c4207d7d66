#!/usr/bin/env python3
"""A minimal BMC on pyghmi.ipmi.bmc.Bmc (the base of virtualbmc), for `ipmi-to-metal bench`
to compare against: user admin, password from $IPMI_PASSWORD, listening on 127.0.0.1:PORT."""
import os
import sys

import pyghmi.ipmi.bmc as bmc


class PowerBmc(bmc.Bmc):
    def __init__(self, authdata, port):
        super().__init__(authdata, port=port, address="127.0.0.1")
        self.powerstate = "on"

    def get_power_state(self):
        return self.powerstate

    def power_off(self):
        self.powerstate = "off"

    def power_on(self):
        self.powerstate = "on"


if __name__ == "__main__":
    PowerBmc({"admin": os.environ["IPMI_PASSWORD"]}, int(sys.argv[1])).listen()
