"""pyghmi's Serial over LAN client, `pyghmi.ipmi.console.Console`, driven against the shim for
the tests (the console of confluent, and of pyghmi-based tooling).

    python3 pyghmi_console.py HOST PORT session
    python3 pyghmi_console.py HOST PORT type COUNT

The password is BMC_PASSWORD in the environment (never on the command line). Both print
`established` once SOL is active, every step as it passes, then the console text received
between `--- transcript ---` lines; they exit 1 at the first step that fails or times out.

`session` (tests/sol_pyghmi.rs) waits for the sim's boot text (the test resets the machine),
logs in on the sim's console, runs `uname -a`, waits until pyghmi's own SOL keepalive (Get
Payload Instance Info, whose answer must name this session) has run, and closes (Deactivate
Payload, then logout).

`type` (tests/sol_loss.rs) waits for a line on its standard input (the test makes the network
lossy first), then types COUNT tokens `p000.`, `p001.`, ... one packet each (pyghmi sends each
again until the BMC acknowledges it), waits for the console program's echo of all of them,
checks that the echo is exactly what it typed, and closes.
"""

import os
import sys
import time

from pyghmi.ipmi import console
from pyghmi.ipmi.private import session

# pyghmi runs its keepalive every MAX_IDLE (29) seconds at most (the console's own keepalive,
# Get Payload Instance Info, is due whatever the traffic); `session` sets a shorter time so that
# it runs within the test, `type` a longer one so that it does not run while keys are typed
# through loss: pyghmi queues the SOL packets it sends while a keepalive awaits its answer
# (Session.send_payload's pendingpayloads) and, when that answer was lost and came late, sends
# the queued copies one per later IPMI answer, seconds later, under their old sequence numbers:
# no BMC can tell such a copy from new keys (the 4-bit number has wrapped since), and the
# console program gets the old keys again (seen as `p160.p065.p160.`).
KEEPALIVE_IDLE = {"session": 6, "type": 3600}


class CheckedConsole(console.Console):
    """Counts pyghmi's SOL keepalive checks (it marks the console broken if one fails)."""

    keepalive_checks = 0

    def _got_payload_instance_info(self, response):
        super()._got_payload_instance_info(response)
        if self.activated:
            CheckedConsole.keepalive_checks += 1


class Driver:
    def __init__(self, host, port):
        self.text = b""
        self.seen = 0
        self.errors = []
        self.console = CheckedConsole(
            bmc=host,
            userid="admin",
            password=os.environ["BMC_PASSWORD"],
            iohandler=self.got,
            port=port,
        )

    def got(self, data):
        """pyghmi's output handler: console bytes, or a dict with 'error' or 'info'."""
        if isinstance(data, dict):
            self.errors.append(data)
        elif isinstance(data, str):
            self.text += data.encode()
        else:
            self.text += bytes(data)

    def fail(self, why):
        print("FAILED:", why)
        self.transcript()
        sys.exit(1)

    def transcript(self):
        print("--- transcript ---")
        print(self.text.decode(errors="replace"))
        print("--- transcript ---")
        sys.stdout.flush()

    def until(self, what, cond, secs):
        """Runs pyghmi's event loop until cond() holds; fails after secs or on an error."""
        deadline = time.monotonic() + secs
        while not cond():
            if self.errors:
                self.fail("pyghmi reported %r while waiting for %s" % (self.errors, what))
            if time.monotonic() > deadline:
                self.fail("no %s in %d s" % (what, secs))
            console.Console.wait_for_rsp(0.1)
        print("ok:", what)
        sys.stdout.flush()

    def expect(self, text, secs=30):
        """Waits for text after everything matched so far (so the order is checked too)."""
        want = text.encode()

        def found():
            i = self.text.find(want, self.seen)
            if i < 0:
                return False
            self.seen = i + len(want)
            return True

        self.until(repr(text), found, secs)

    def type(self, text):
        # send_data returns once the BMC acknowledged the packet (pyghmi retransmits until).
        self.console.send_data(text)


def session_steps(d):
    # The test resets the machine now: its boot text, then the login prompt.
    d.expect("Linux version 6.1.0-sim", 60)
    d.expect("node1 login: ", 60)
    d.type("root\r")
    d.expect("Password: ")
    d.type("not-echoed\r")
    d.expect("root@node1:~# ")
    d.type("uname -a\r")
    d.expect("Linux node1 6.1.0-sim #1 SMP")
    d.expect("root@node1:~# ")
    d.until("a SOL keepalive check", lambda: CheckedConsole.keepalive_checks > 0, 30)


def typing_steps(d, count):
    sys.stdin.readline()
    typed = "".join("p%03d." % k for k in range(count))
    for k in range(count):
        d.type("p%03d." % k)
    d.expect("p%03d." % (count - 1), 120)
    # What the BMC guarantees is checked on the far side (the console's record of its input).
    # pyghmi's own echo is not: its filter of output sent again cuts 4 bytes too far
    # (console.py, the repeated-sequence branch of _got_sol_payload), so when an ack of ours
    # is lost and the BMC sends the output again, pyghmi may print some of it twice.
    print("echo exact" if d.text == typed.encode() else "echo inexact (pyghmi's repeat filter)")


def main():
    host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    session.MAX_IDLE = KEEPALIVE_IDLE[mode]
    d = Driver(host, port)
    d.until("SOL established", lambda: d.console.connected, 30)
    print("established")
    sys.stdout.flush()
    if mode == "session":
        session_steps(d)
    else:
        typing_steps(d, int(sys.argv[4]))
    d.console.close()
    d.console.ipmi_session.logout()
    if d.errors:
        d.fail("pyghmi reported %r" % d.errors)
    print("closed")
    d.transcript()


if __name__ == "__main__":
    main()
