#!/usr/bin/env python3
"""Instructions per unit (request or session) by function, inclusive, from a callgrind output file.

callgrind_annotate splits a function's cost by the source file of each inlined piece; this sums
them per function instead, and groups the functions that make up one cost (the task spawn, the
allocator, HMAC...) so that the table reads as "where the instructions of one request go".

Usage: callgrind_summary.py CALLGRIND_OUT UNITS [TOP]
"""
import re
import sys
from collections import defaultdict

# (label, regex over function names, whole-name match); inclusive costs of the matching
# functions are added, so the patterns pick functions that do not call each other.
GROUPS = [
    ("receive loop (recv, Server::handle, spawn)", r"ipmi_to_metal::runtime::receive_loop::\{\{closure\}\}"),
    ("  Server::handle (check HMAC, decrypt, parse)", r"ipmi_proto::session::server::Server::handle"),
    ("  recv_from (tokio + mio + libc, user side)", r"<std::net::udp::UdpSocket>::recv_from"),
    ("  tokio::spawn (task cell, schedule)", r"tokio::task::spawn::spawn"),
    ("request task (timeout, backend, seal, send)", r"ipmi_to_metal::runtime::receive_loop::\{\{closure\}\}::\{\{closure\}\}"),
    ("  Timeout::poll (timer + the BMC's handle)", r"<tokio::time::timeout::Timeout<T> as core::future::future::Future>::poll"),
    ("    ipmi_bmc dispatch (command + backend)", r"ipmi_bmc::dispatch::handle::\{\{closure\}\}"),
    ("      Backend::power_state (sim)", r"<backend_sim::SimBackend as ipmi_bmc::backend::Backend>::power_state"),
    ("  Server::seal (encrypt, HMAC, frame)", r"ipmi_proto::session::server::Server::seal"),
    ("  send (tokio + mio + libc, user side)", r"ipmi_to_metal::runtime::send::\{\{closure\}\}"),
    ("  semaphore permit release", r"<tokio::sync::semaphore::OwnedSemaphorePermit as core::ops::drop::Drop>::drop"),
    ("task end (complete, free the cell)", r"tokio::runtime::task::harness::Harness<T,S>::complete|core::ptr::drop_in_place<alloc::boxed::Box<tokio::runtime::task::core::Cell<ipmi_to_metal.*"),
    ("runtime park/unpark (epoll, timer wheel)", r"tokio::runtime::scheduler::multi_thread::worker::Context::park_internal"),
    ("HMAC-SHA1-96 (auth_code, both ways)", r"ipmi_proto::crypto::integrity::auth_code"),
    ("  SHA-1 compression", r"sha1::compress::compress"),
    ("RAKP HMACs (login)", r"ipmi_proto::crypto::rakp::hmac"),
    ("AES-128-CBC encrypt", r"ipmi_proto::crypto::aes_cbc::encrypt"),
    ("AES-128-CBC decrypt", r"ipmi_proto::crypto::aes_cbc::decrypt"),
    ("  AES key expansion", r"aes::ni::aes128::expand_key|aes::soft::.*key.*"),
    ("allocator (alloc, realloc, dealloc)", r"__rustc::__rust_alloc|__rustc::__rust_dealloc|__rustc::__rust_realloc|__rustc::__rust_alloc_zeroed"),
    ("memcpy/memmove", r"__memcpy_avx_unaligned_erms|__memmove_avx_unaligned_erms|__memmove_avx512_unaligned_erms"),
    ("session table hashing (SipHash)", r"core::hash::BuildHasher::hash_one"),
    ("Instant::now (clock_gettime)", r"<std::time::Instant>::now"),
    ("logging (tracing events)", r"tracing_core::event::Event::dispatch"),
]


def parse(path):
    """Self and inclusive cost per function, and calls to it."""
    names = {}

    def name(spec):
        m = re.match(r"\((\d+)\)(?: (.*))?", spec)
        if not m:
            return spec
        if m.group(2) is not None:
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), spec)

    fn = cfn = pending = None
    self_cost = defaultdict(int)
    call_cost = defaultdict(int)
    calls = defaultdict(int)
    total = 0
    for line in open(path):
        line = line.rstrip("\n")
        if not line or line[0] == "#":
            continue
        if line.startswith("fn="):
            fn = name(line[3:])
        elif line.startswith("cfn="):
            cfn = name(line[4:])
        elif line.startswith("calls="):
            pending = (cfn, int(line[6:].split()[0]))
        elif line[0].isdigit() or line[0] in "+-*":
            toks = line.split()
            cost = int(toks[-1]) if len(toks) > 1 else 0
            if pending:
                callee, count = pending
                pending = None
                if callee != fn:  # a direct recursion is already in the caller's cost
                    call_cost[fn] += cost
                calls[callee] += count
            else:
                self_cost[fn] += cost
                total += cost
        else:
            m = re.match(r"(fl|fi|fe|ob|cob|cfi|cfl)=(.*)", line)
            if m:
                name(m.group(2))
    incl = {f: self_cost[f] + call_cost[f] for f in set(self_cost) | set(call_cost)}
    return total, self_cost, incl, calls


def main():
    path, units = sys.argv[1], float(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    total, self_cost, incl, calls = parse(path)
    print(f"{total / units:10,.0f}  instructions per unit in all ({total:,} / {units:.0f})")
    for label, pattern in GROUPS:
        rx = re.compile(pattern)
        hits = [f for f in incl if rx.fullmatch(f)]
        if not hits:
            continue
        cost = sum(incl[f] for f in hits)
        n = sum(calls[f] for f in hits)
        print(f"{cost / units:10,.0f}  {100 * cost / max(total, 1):5.1f}%  {n / units:6.2f} calls  {label}")
    if top:
        print(f"-- top {top} functions by self cost")
        for f, c in sorted(self_cost.items(), key=lambda kv: -kv[1])[:top]:
            print(f"{c / units:10,.0f}  {100 * c / max(total, 1):5.1f}%  {calls[f] / units:6.2f} calls  {f[:110]}")


if __name__ == "__main__":
    main()
