#!/usr/bin/env python3
"""A UDP relay that records every datagram of the exchanges it carries, for the fuzz seed corpora.

    udp_relay.py LISTEN_PORT UPSTREAM_PORT OUT_FILE

Clients talk to 127.0.0.1:LISTEN_PORT; each client address gets its own upstream socket to
127.0.0.1:UPSTREAM_PORT. Every datagram is appended to OUT_FILE in order as a record: one byte
direction (0: client to server, 1: server to client), two bytes length (little endian), the
datagram. fuzz/harness/seeds.rs reads these. Stops on SIGTERM/SIGINT.
"""
import select
import signal
import socket
import struct
import sys


def main():
    listen_port, upstream_port, out_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    out = open(out_file, "wb")
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", listen_port))
    upstream = ("127.0.0.1", upstream_port)
    by_client = {}  # client address -> upstream socket
    by_socket = {}  # upstream socket -> client address
    running = [True]

    def stop(*_):
        running[0] = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def record(direction, data):
        out.write(struct.pack("<BH", direction, len(data)) + data)
        out.flush()

    while running[0]:
        try:
            ready, _, _ = select.select([front] + list(by_socket), [], [], 0.2)
        except InterruptedError:
            continue
        for s in ready:
            if s is front:
                data, client = front.recvfrom(65535)
                if client not in by_client:
                    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    u.bind(("127.0.0.1", 0))
                    by_client[client] = u
                    by_socket[u] = client
                record(0, data)
                by_client[client].sendto(data, upstream)
            else:
                data, _ = s.recvfrom(65535)
                client = by_socket[s]
                record(1, data)
                front.sendto(data, client)


if __name__ == "__main__":
    main()
