#!/usr/bin/env python3
"""sluice benchmark: sluice vs HAProxy vs nginx, same workloads, same upstream, one run.

    python3 bench/run.py                      # full run (about 140 s here), all proxies
    python3 bench/run.py --quick              # shorter run (about 55 s)
    python3 bench/run.py --proxies haproxy,nginx --no-direct

Every proxy runs one worker / thread (sluice: --sluice-workers) in front of the same nginx
upstream, pinned to its own CPU(s) while wrk and the upstream run on the others. Workloads:
keep-alive and Connection: close wrk runs (req/s, latency, proxy CPU per request), a 100 MiB
download, idle connections' memory, TLS keep-alive and full handshakes, and sluice's heap
allocations per request; `balance hash` on X-User-Id against round-robin over four servers;
HTTP/2 with h2load over TLS and in clear text; and the per-worker split of sluice with two
workers (and nginx with reuseport). One markdown table per subject on stdout, each figure with
its ratio to HAProxy's (the new tables: and to nginx's); raw numbers in bench/results/last.json.
bench/README.md says how each column is measured and why the processes are pinned.

Modules: proxies.py (configurations and processes), workloads.py (the measurements),
scheduling.py (profiles, rounds, budget, targets), worker_split.py (the per-worker split),
report.py (tables, JSON), cpus.py (pinning), common.py (constants, tools; the shared
Tests/blackbox helpers).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import cpus
from common import ALL_PROXIES, HOST, REPO, BenchError, ensure_tools, log, raise_nofile
from ports import free_ports
from proxies import Listeners, haproxy_proxy, make_certificate, nginx_proxy, sluice_proxy, upstream_server
from report import json_document, print_report
from scheduling import PROFILES, Budget, Target, run_all
from worker_split import split_phase
from workloads import MallocProbe


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--proxies", default=",".join(ALL_PROXIES),
                    help="comma-separated subset of %s (default: all)" % ",".join(ALL_PROXIES))
    ap.add_argument("--no-direct", action="store_true", help="skip the direct-to-upstream reference row")
    ap.add_argument("--no-tls", action="store_true", help="skip the TLS workloads (second table)")
    ap.add_argument("--no-mallocs", action="store_true", help="skip sluice's allocation count")
    ap.add_argument("--no-hash", action="store_true", help="skip the balance hash / round-robin table")
    ap.add_argument("--no-h2", action="store_true", help="skip the HTTP/2 table (h2load)")
    ap.add_argument("--no-split", action="store_true", help="skip the per-worker split (two workers)")
    ap.add_argument("--quick", action="store_true", help="shorter workloads (about 55 s in all)")
    ap.add_argument("--sluice-workers", default=os.environ.get("SLUICE_WORKERS", "1"),
                    help="sluice's `workers` setting: 1 (default, like the others' single thread), N or auto")
    ap.add_argument("--proxy-cpus", type=int, default=None,
                    help="how many CPUs the proxy under test gets (default: 1, or sluice's worker count, "
                         "or half the CPUs for auto; at most all but one)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin the proxies, wrk and the upstream")
    ap.add_argument("--sluice-bin", default=os.environ.get("SLUICE_BIN", str(REPO / ".build/release/sluice")))
    ap.add_argument("--json", default=str(REPO / "bench/results/last.json"), help="where to write raw results")
    ap.add_argument("--budget", type=float, default=300.0, help="seconds; workloads that would overrun are skipped")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (configs, logs)")
    args = ap.parse_args()
    args.proxy_list = [p.strip() for p in args.proxies.split(",") if p.strip()]
    unknown = [p for p in args.proxy_list if p not in ALL_PROXIES]
    if unknown:
        ap.error("unknown proxy %s (choose from %s)" % (", ".join(unknown), ",".join(ALL_PROXIES)))
    return args


def listeners(args, name, port, tls_port, hash_servers):
    """The extra listeners of a proxy: hashing (sluice: and round-robin) over `hash_servers`,
    HTTP/2 over TLS and in clear text (sluice: on its own two listeners, see proxies.sluice_proxy)."""
    ex = Listeners(servers=tuple(hash_servers))
    if not args.no_hash:
        ex.hash = free_ports(1)[0]
        if name == "sluice":
            ex.rr = free_ports(1)[0]
    if not args.no_h2:
        if name == "sluice":
            ex.h2_tls, ex.h2c = tls_port, port
        else:
            ex.h2_tls = free_ports(1)[0] if tls_port else None
            ex.h2c = free_ports(1)[0]
    return ex


def make_targets(args, tmp, upstream, up_port, cert, nofile, proxy_cpus, hash_servers):
    """One Target per table row, in table order; the proxies are configured, not started."""
    names = ([] if args.no_direct else ["direct"]) + args.proxy_list
    ports = dict(zip(ALL_PROXIES, free_ports(len(ALL_PROXIES))))
    tls_ports = dict(zip(ALL_PROXIES, free_ports(len(ALL_PROXIES)))) if cert is not None else {}
    targets = []
    for name in names:
        port, tls_port = ports.get(name), tls_ports.get(name)
        extra = None if name == "direct" else listeners(args, name, port, tls_port, hash_servers)
        if name == "direct":
            targets.append(Target("direct", None, up_port, upstream))
            continue
        if name == "sluice":
            if not os.access(args.sluice_bin, os.X_OK):
                t = Target("sluice", None, 0, upstream)
                t.direct, t.ok = False, False
                t.error("start", "no executable at %s (swift build -c release)" % args.sluice_bin)
                targets.append(t)
                continue
            server = sluice_proxy(tmp, port, up_port, args.sluice_bin, tls_port, cert,
                                  workers=args.sluice_workers, cpus=proxy_cpus, extra=extra)
        elif name == "haproxy":
            server = haproxy_proxy(tmp, port, up_port, nofile, tls_port, cert, cpus=proxy_cpus, extra=extra)
        else:
            server = nginx_proxy(tmp, port, up_port, nofile, tls_port, cert, cpus=proxy_cpus, extra=extra)
        targets.append(Target(name, server, port, upstream, tls_port, extra))
    return targets


def malloc_probe(args, tmp, up_port, targets, proxy_cpus):
    """The allocation counter for the sluice row, or None (its reason in the row)."""
    sluice = next((t for t in targets if t.name == "sluice" and t.ok), None)
    if sluice is None or args.no_mallocs:
        return None
    try:
        return MallocProbe(tmp, args.sluice_bin, up_port, free_ports(1)[0], proxy_cpus)
    except (RuntimeError, OSError) as e:
        sluice.error("mallocs", str(e))
        return None


def main():
    args = parse_args()
    prof = dict(PROFILES["quick" if args.quick else "full"])
    ensure_tools(args.proxy_list, h2=not args.no_h2)
    budget = Budget(args.budget)
    nofile = raise_nofile()
    if nofile < prof["idle"] + 100:
        log("RLIMIT_NOFILE is %d: idle connections reduced" % nofile)
        prof["idle"] = max(100, nofile - 100)

    pinning = cpus.plan(args.sluice_workers, args.proxy_cpus, enabled=not args.no_pin)
    cpus.pin_this_process(pinning)   # wrk, s_time, the upstream and the Python clients inherit it
    prof["wrk_threads"] = min(len(pinning.proxy), len(pinning.load)) if pinning.active else 1
    prof["wrk_connections"] = 50 * prof["wrk_threads"]
    log("CPU pinning: %s" % pinning.describe())

    tmp = tempfile.mkdtemp(prefix="sluice-bench-")
    up_port = free_ports(1)[0]
    hash_extra = [] if args.no_hash else free_ports(3)   # the upstream's other ports: four servers to hash over
    upstream = upstream_server(tmp, up_port, nofile, cpus=set(pinning.load) if pinning.active else None,
                               extra_ports=hash_extra)
    order = ([] if args.no_direct else ["direct"]) + args.proxy_list
    targets = []
    hash_rows, split_rows = [], {}
    interrupted = False
    cert, tls_note = None, None
    if not args.no_tls:
        try:
            cert = make_certificate(tmp)
        except BenchError as e:
            tls_note = "TLS workloads skipped: %s" % e
            log(tls_note)
    try:
        upstream.start()
        log("upstream nginx on %s:%d (pid %d), temp dir %s" % (HOST, up_port, upstream.pid, tmp))
        targets = make_targets(args, tmp, upstream, up_port, cert, nofile, pinning.proxy_cpus(),
                               [up_port] + hash_extra)
        probe = malloc_probe(args, tmp, up_port, targets, pinning.proxy_cpus())
        hash_rows = run_all([t for t in targets if t.ok], prof, budget, probe, tmp=tmp, hashing=not args.no_hash,
                            h2=not args.no_h2)
        if not args.no_split:
            # the two workers on every CPU (see worker_split.py); wrk and the upstream stay where they are
            every_cpu = set(pinning.proxy) | set(pinning.load) if pinning.active else None
            split_rows = split_phase(args, tmp, up_port, nofile, prof, budget, every_cpu,
                                     (prof["wrk_threads"], prof["wrk_connections"]))
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted")
    except BenchError as e:
        log("upstream failed: %s" % e)
        return 1
    finally:
        for t in targets:
            if t.server is not None:
                t.server.stop()
        upstream.stop()
        if args.keep_tmp:
            log("temp dir kept: %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    results = {t.name: t.row for t in targets}
    hashing = {"order": [t.name for t in hash_rows], "results": {t.name: t.row for t in hash_rows}}
    total = budget.elapsed()
    tables = print_report(order, results, prof, cert, tls_note, pinning, total, args.budget, hashing, split_rows,
                          h2=not args.no_h2)
    doc = json_document(args, prof, results, tables, cert, pinning, nofile, total, hashing, split_rows)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")
    print("raw results: %s" % os.path.relpath(args.json))
    if interrupted:
        return 130
    if total > args.budget:
        print("WARNING: the run took %.1f s, over its %.0f s budget" % (total, args.budget))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
