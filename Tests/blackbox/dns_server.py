#!/usr/bin/env python3
"""A DNS server for the black-box tests: answers from a JSON zone file, re-read when it changes.

Usage:  python3 Tests/blackbox/dns_server.py ZONE.json [PORT]

Listens on 127.0.0.1:PORT, UDP and TCP on the same port (a UDP answer beyond 512 bytes is
truncated and the client asks again over TCP, RFC 1035 4.2). PORT 0 or none: a free port. Prints
"dns_server listening 127.0.0.1:PORT" once ready; SIGTERM stops it. Needs dnslib (pip).

The zone maps names (any case, trailing dot optional) to records; "ttl" is in seconds (default 30):

    {"app.test": {"A": [{"address": "10.0.0.1", "ttl": 5}], "AAAA": [{"address": "fd00::1"}]},
     "_http._tcp.svc.test": {"SRV": [{"target": "n1.test", "port": 8080, "weight": 10, "priority": 0}]},
     "n1.test": {"A": [{"address": "10.0.0.1"}]},
     "broken.test": {"rcode": "SERVFAIL"},
     "slow.test": {"drop": true}}

A name not in the zone is NXDOMAIN; a name without records of the asked type gets an empty
answer. "rcode" answers NXDOMAIN, SERVFAIL, REFUSED... with no records; "drop" never answers (the
client times out). SRV answers carry their targets' A/AAAA records in the additional section
unless the zone has "_srv_additional": false. Change the zone by writing a new file and
os.replace()-ing it over the old one, so a half-written file is never read; a file that does not
parse leaves the previous zone in force.
"""
import json
import os
import signal
import sys
import threading

from dnslib import AAAA, QTYPE, RCODE, RR, SRV, A, DNSRecord
from dnslib.dns import DNSError
from dnslib.server import DNSHandler, DNSLogger, DNSServer

RDATA = {
    "A": lambda r: A(r["address"]),
    "AAAA": lambda r: AAAA(r["address"]),
    "SRV": lambda r: SRV(priority=r.get("priority", 0), weight=r.get("weight", 1), port=r["port"], target=r["target"]),
}


def key(name):
    return str(name).lower().rstrip(".")


class Zone:
    """The zone file's content, reloaded when its inode, mtime or size changes."""

    def __init__(self, path):
        self.path, self.stamp, self.names, self.additional = path, None, {}, True
        self.lock = threading.Lock()

    def current(self):
        with self.lock:
            try:
                st = os.stat(self.path)
                stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
                if stamp != self.stamp:
                    with open(self.path) as f:
                        data = json.load(f)
                    self.names = {key(n): v for n, v in data.items() if n != "_srv_additional"}
                    self.additional = data.get("_srv_additional", True)
                    self.stamp = stamp
            except (OSError, ValueError):
                pass
            return self.names, self.additional


def records(name, kind, entry):
    return [RR(name, getattr(QTYPE, kind), rdata=RDATA[kind](r), ttl=r.get("ttl", 30)) for r in entry.get(kind, [])]


class ZoneResolver:
    def __init__(self, zone):
        self.zone = zone

    def resolve(self, request, handler):
        names, additional = self.zone.current()
        reply = request.reply()
        name, kind = key(request.q.qname), QTYPE[request.q.qtype]
        entry = names.get(name)
        if entry is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif entry.get("drop"):
            raise DNSError("dropped")  # dnslib's handler sends nothing then
        elif "rcode" in entry:
            reply.header.rcode = getattr(RCODE, entry["rcode"])
        elif kind in RDATA:
            for rr in records(request.q.qname, kind, entry):
                reply.add_answer(rr)
            if kind == "SRV" and additional:
                for target in {key(r["target"]) for r in entry.get("SRV", [])}:
                    for rr in records(target, "A", names.get(target, {})) + records(target, "AAAA", names.get(target, {})):
                        reply.add_ar(rr)
        return reply


class TruncatingHandler(DNSHandler):
    """Over UDP, an answer beyond 512 bytes goes as its header and question with TC set. (dnslib's
    own truncation also drops the question, and c-ares ignores an answer whose question differs.)"""

    def get_reply(self, data):
        packed = super().get_reply(data)
        if len(packed) <= 512:
            return packed
        reply = DNSRecord.parse(data).reply()
        reply.header.tc = 1
        return reply.pack()


def servers(resolver, port):
    """UDP and TCP servers on one port; a free UDP port may be taken for TCP, so try others."""
    quiet = DNSLogger(logf=lambda _: None)
    for attempt in range(1 if port else 50):
        udp = DNSServer(resolver, address="127.0.0.1", port=port, logger=quiet, handler=TruncatingHandler)
        try:
            return udp, DNSServer(resolver, address="127.0.0.1", port=udp.server.server_address[1], tcp=True, logger=quiet)
        except OSError:
            udp.server.server_close()
    sys.exit("dns_server: no port free for both UDP and TCP")


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    udp, tcp = servers(ZoneResolver(Zone(sys.argv[1])), int(sys.argv[2]) if len(sys.argv) == 3 else 0)
    port = udp.server.server_address[1]
    udp.start_thread()
    tcp.start_thread()
    print(f"dns_server listening 127.0.0.1:{port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
