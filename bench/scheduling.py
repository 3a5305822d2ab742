"""Scheduling: the run profiles, the time budget, the targets (one per table row), and the
phases that run each workload over the targets in rounds.

Every wrk workload runs in rounds that rotate through the targets (round r starts at target
r), so slow drifts of a shared machine hit every proxy alike; results are aggregated over the
rounds.  A workload that would overrun the budget is skipped and says so in the row; a
failure goes into the target's row and never stops the run; a proxy that died is restarted
for the next workload.
"""
import os
import time

from common import BenchError, log
from workloads import (big_download, h2load_workload, http_get, idle_connections, run_h2load, run_wrk,
                       s_time_workload, sanity_check, tls_sanity, user_id_script, wrk_workload)

PROFILES = {
    # seconds of wrk warm-up; keep-alive rounds x seconds; conn-per-request rounds x seconds;
    # 100 MiB downloads per target; idle connections per proxy; TLS keep-alive rounds x seconds;
    # TLS new-handshake rounds x seconds (with hs_clients parallel `openssl s_time -new`);
    # the two request counts of sluice's allocation count; hashing rows' rounds x seconds (wrk
    # keep-alive with a varying X-User-Id); HTTP/2 rounds x seconds per transport (h2load with
    # h2_clients connections x h2_streams streams); seconds per per-worker-split wrk run, and its
    # keep-alive connections
    "full":  dict(warmup=1, rounds=3, keepalive=4, close_rounds=2, close=3, downloads=3, idle=5000,
                  tls_rounds=2, tls_keepalive=3, hs_rounds=2, handshake=3, hs_clients=2,
                  mallocs=(2000, 20000), hash_rounds=3, hash=3, h2_rounds=3, h2=3, h2_clients=50,
                  h2_streams=10, split=4, split_keepalive=1000),
    "quick": dict(warmup=1, rounds=1, keepalive=3, close_rounds=1, close=2, downloads=1, idle=2000,
                  tls_rounds=1, tls_keepalive=2, hs_rounds=1, handshake=2, hs_clients=2,
                  mallocs=(2000, 12000), hash_rounds=1, hash=2, h2_rounds=1, h2=2, h2_clients=50,
                  h2_streams=10, split=2, split_keepalive=1000),
}


class Budget:
    def __init__(self, seconds):
        self.start = time.monotonic()
        self.seconds = seconds

    def elapsed(self):
        return time.monotonic() - self.start

    def allows(self, needed):
        return self.elapsed() + needed <= self.seconds


class Target:
    """A row of the table: a proxy (server) or the upstream itself (direct, server None)."""

    def __init__(self, name, server, port, upstream, tls_port=None, extra=None):
        self.name, self.server, self.port, self.upstream = name, server, port, upstream
        self.tls_port = tls_port  # the proxy's TLS listener (same process), None for direct
        self.extra = extra        # proxies.Listeners: hashing and HTTP/2 listeners (same process), or None
        self.row = {"errors": {}, "notes": [], "restarts": 0}
        self.direct = server is None
        self.ok = True  # False once it could not be started: no more workloads

    @property
    def measured(self):
        """Whose CPU the workloads measure: the proxy's, or the upstream's for the direct row."""
        return self.upstream if self.direct else self.server

    def error(self, key, msg):
        prev = self.row["errors"].get(key)
        self.row["errors"][key] = msg if prev is None else prev + "; " + msg
        log("[%s] %s: %s" % (self.name, key, msg))

    def start(self):
        if self.direct:
            return True
        try:
            self.server.start()
            return True
        except BenchError as e:
            self.error("start", str(e))
            self.ok = False
            return False

    def ensure_running(self, key):
        """Before a workload: restart a proxy that died during the previous one."""
        if self.direct or self.server.alive():
            return True
        self.error(key, "%s had died (%s: %s); restarted" % (self.name, self.server.exit_text(),
                                                                self.server.log_tail(2)))
        self.row["restarts"] += 1
        self.server.stop()
        try:
            self.server.start()
            return True
        except BenchError as e:
            self.error(key, "restart failed: %s" % e)
            self.ok = False
            return False


def guarded(target, key, fn):
    """Run one measurement; a failure is written into the target's row, never raised."""
    try:
        return fn()
    except BenchError as e:
        target.error(key, str(e))
    except OSError as e:
        target.error(key, "%s: %s" % (type(e).__name__, e))
    except Exception as e:  # noqa: BLE001 - one broken workload must not stop the run
        target.error(key, "%s: %s" % (type(e).__name__, e))
    return None


def rotated(items, r):
    """Round r starts at a different target, so no one always runs first (or last)."""
    if not items:
        return items
    r %= len(items)
    return items[r:] + items[:r]


def aggregate_wrk(runs):
    reqs = sum(w["requests"] for w in runs)
    secs = sum(w["requests"] / w["rps"] for w in runs)
    out = {
        "rps": reqs / secs,
        "requests": reqs,
        "cpu_s": sum(w["cpu_s"] for w in runs),
        "cpu_us_per_req": sum(w["cpu_s"] for w in runs) * 1e6 / reqs,
        "rounds": [{k: w.get(k) for k in ("rps", "requests", "cpu_us_per_req", "p50_ms", "p99_ms", "errors",
                                           "non2xx", "wrk_cpu_s", "upstream_cpu_us_per_req")} for w in runs],
    }
    for k in ("p50_ms", "p99_ms"):
        vals = sorted(w[k] for w in runs if w.get(k) is not None)
        if vals:
            mid = len(vals) // 2
            out[k] = vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2
    ups = [w["upstream_cpu_us_per_req"] * w["requests"] for w in runs if "upstream_cpu_us_per_req" in w]
    if len(ups) == len(runs):
        out["upstream_cpu_us_per_req"] = sum(ups) / reqs
    out["wrk_cpu_us_per_req"] = sum(w["wrk_cpu_s"] for w in runs) * 1e6 / reqs
    return out


def measured_phase(targets, key, rounds, seconds, budget, measure, warm=None, latency=True):
    """`rounds` interleaved runs of `measure(t)` per target (after one `warm(t)` each, if given);
    results aggregated into row[key]."""
    runs = {t.name: [] for t in targets}
    if warm is not None:
        for t in targets:
            if t.ok and t.ensure_running(key) and budget.allows(5):
                guarded(t, key, lambda: warm(t))
    for r in range(rounds):
        for t in rotated(targets, r):
            if not t.ok or not t.ensure_running(key):
                continue
            if not budget.allows(seconds + 5):
                t.error(key, "round %d skipped: time budget" % (r + 1))
                continue
            w = guarded(t, key, lambda: measure(t))
            if w is not None:
                w.pop("raw", None)
                runs[t.name].append(w)
                log("[%s] %s round %d: %.0f req/s, %.2f us CPU/req%s"
                    % (t.name, key, r + 1, w["rps"], w["cpu_us_per_req"],
                       ", p50 %.3f ms, p99 %.3f ms" % (w["p50_ms"], w["p99_ms"])
                       if latency and w.get("p99_ms") is not None else ""))
    for t in targets:
        if runs[t.name]:
            t.row[key] = aggregate_wrk(runs[t.name])


def wrk_phase(targets, key, rounds, seconds, budget, shape, extra=(), latency=True, warmup=0, tls=False):
    """`rounds` interleaved wrk runs per target with `shape` = (threads, connections); results
    aggregated into row[key].  tls: against the proxies' TLS listeners (https URL)."""
    scheme = "https" if tls else "http"
    port_of = (lambda t: t.tls_port) if tls else (lambda t: t.port)
    warm = (lambda t: run_wrk(port_of(t), warmup, shape, extra, latency=False, scheme=scheme)) if warmup else None
    measured_phase(targets, key, rounds, seconds, budget,
                   lambda t: wrk_workload(t.measured, port_of(t), seconds, shape, extra, latency,
                                          None if t.direct else t.upstream, scheme),
                   warm=warm, latency=latency)


def h2_phase(targets, key, tls, prof, budget, tmp):
    """HTTP/2 with h2load, `h2_clients` connections x `h2_streams` streams, over TLS (ALPN h2) or
    in clear text (prior knowledge); into row[key]."""
    seconds = prof["h2"]
    scheme = "https" if tls else "http"
    port_of = (lambda t: t.extra.h2_tls) if tls else (lambda t: t.extra.h2c)
    clients, streams, threads = prof["h2_clients"], prof["h2_streams"], prof["wrk_threads"]
    log_path = os.path.join(tmp, "h2load.log")

    def url(t):
        return "%s://127.0.0.1:%d/" % (scheme, port_of(t))

    measured_phase(targets, key, prof["h2_rounds"], seconds, budget,
                   lambda t: h2load_workload(t.server, url(t), seconds, clients, streams, threads, log_path,
                                             t.upstream),
                   warm=lambda t: run_h2load(url(t), prof["warmup"], clients, streams, threads, log_path))


def hash_targets(live):
    """The rows of the hashing table: sluice round-robin and hashing over the same four servers,
    HAProxy and nginx hashing; each a Target on its proxy's server (same process as its main row)."""
    rows = []
    for t in live:
        if t.direct or not t.ok or t.extra is None:
            continue
        if t.extra.rr:
            rows.append(Target("%s round_robin" % t.name, t.server, t.extra.rr, t.upstream))
        if t.extra.hash:
            rows.append(Target("%s hash" % t.name, t.server, t.extra.hash, t.upstream))
    return rows


def hash_phase(live, prof, budget, tmp, shape):
    """keep-alive wrk with a varying X-User-Id through the hashing (and round-robin) frontends;
    returns the rows' Targets (their rows hold "keepalive")."""
    rows = hash_targets(live)
    checked = []
    for t in rows:
        try:
            sanity_check(t.port)
            checked.append(t)
        except (BenchError, OSError) as e:
            t.error("start", "sanity check: %s" % e)
            t.ok = False
    script = user_id_script(tmp)
    wrk_phase(checked, "keepalive", prof["hash_rounds"], prof["hash"], budget, shape, extra=("-s", script),
              warmup=prof["warmup"])
    return rows


def big_phase(targets, downloads, budget):
    per = {t.name: [] for t in targets}
    for r in range(downloads):
        for t in rotated(targets, r):
            if not t.ok or not t.ensure_running("big"):
                continue
            if not budget.allows(5):
                t.error("big", "download %d skipped: time budget" % (r + 1))
                continue
            res = guarded(t, "big", lambda: big_download(t.port, 1))
            if res is not None:
                per[t.name].append(res)
    for t in targets:
        if per[t.name]:
            total_bytes = sum(x["bytes"] for x in per[t.name])
            total_time = sum(x["seconds"] for x in per[t.name])
            t.row["big"] = {"gbps": total_bytes / total_time / 1e9, "bytes": total_bytes,
                            "runs_gbps": [round(x["gbps"], 3) for x in per[t.name]]}
            log("[%s] 100 MiB body: %.2f GB/s %s" % (t.name, t.row["big"]["gbps"], t.row["big"]["runs_gbps"]))


def handshake_phase(targets, rounds, seconds, clients, budget):
    """New TLS handshakes: `rounds` interleaved s_time runs per target, aggregated in row["tls_handshake"]."""
    per = {t.name: [] for t in targets}
    for r in range(rounds):
        for t in rotated(targets, r):
            if not t.ok or not t.ensure_running("tls_handshake"):
                continue
            if not budget.allows(seconds + 5):
                t.error("tls_handshake", "round %d skipped: time budget" % (r + 1))
                continue
            res = guarded(t, "tls_handshake", lambda: s_time_workload(t.server, t.tls_port, seconds, clients))
            if res is not None:
                per[t.name].append(res)
                log("[%s] tls_handshake round %d: %.0f handshakes/s, %.1f us CPU/handshake"
                    % (t.name, r + 1, res["rate"], res["cpu_us_per_handshake"]))
    for t in targets:
        runs = per[t.name]
        if runs:
            n = sum(x["handshakes"] for x in runs)
            t.row["tls_handshake"] = {
                "rate": n / sum(x["seconds"] for x in runs), "handshakes": n,
                "cpu_us_per_handshake": sum(x["cpu_s"] for x in runs) * 1e6 / n,
                "rounds": [{k: round(x[k], 2) for k in ("rate", "cpu_us_per_handshake", "seconds")} for x in runs]}


def idle_phase(targets, count, budget, h2=False):
    """Each idle measurement runs on a freshly started proxy: memory freed by the earlier workloads
    (allocator free lists, HAProxy's pools) would otherwise be reused and hide the per-connection
    cost. "idle" (table): one keep-alive request per connection; "idle_fresh" (JSON): none;
    "idle_h2" (HTTP/2 table, with h2): one request per connection over clear-text HTTP/2."""
    for t in targets:
        if t.direct or not t.ok:
            continue
        kinds = [("idle", True, False), ("idle_fresh", False, False)]
        if h2 and t.extra is not None and t.extra.h2c:
            kinds.append(("idle_h2", True, True))
        for key, send, is_h2 in kinds:
            if not budget.allows(4 + count / 1500.0):
                t.error(key, "skipped: time budget")
                continue

            def measure():
                t.server.stop()
                t.server.start()
                http_get(t.port, "/")
                if is_h2:
                    # One HTTP/2 request first, as the HTTP/1.1 one above: the pages of the
                    # proxy's HTTP/2 code are then resident before the baseline, not charged to
                    # the idle connections.
                    idle_connections(t.server, t.extra.h2c, 1, True, h2=True)
                    return idle_connections(t.server, t.extra.h2c, count, True, h2=True)
                return idle_connections(t.server, t.port, count, send)

            res = guarded(t, key, measure)
            if res is not None:
                t.row[key] = res
                log("[%s] %s: %.0f bytes/conn over %d connections"
                    % (t.name, key, res["bytes_per_conn"], res["connections"]))
            if not t.server.alive() and not t.ensure_running(key):
                break


def mallocs_phase(target, probe, counts, budget):
    """sluice's allocations per request (row["mallocs"]): `probe` (a workloads.MallocProbe)
    counts the worker's allocations for each of the two request counts."""
    if not budget.allows(10):
        target.error("mallocs", "skipped: time budget")
        return
    res = guarded(target, "mallocs", lambda: probe.measure(*counts))
    if res is not None:
        target.row["mallocs"] = res
        log("[%s] mallocs: %.4f per request (worker: %d after %d requests, %d after %d)"
            % (target.name, res["per_request"], res["worker_mallocs"][0], counts[0],
               res["worker_mallocs"][1], counts[1]))


def run_all(targets, prof, budget, malloc_probe=None, tmp=None, hashing=True, h2=True):
    """Every workload over `targets`; `malloc_probe` (a workloads.MallocProbe) counts sluice's
    allocations per request.  Returns the Targets of the hashing table's rows."""
    live = []
    for t in targets:
        if not t.start():
            continue
        try:
            note = sanity_check(t.port, check_xff=not t.direct)
            if note:
                t.row["notes"].append(note)
                log("[%s] warning: %s" % (t.name, note))
            live.append(t)
        except (BenchError, OSError) as e:
            t.error("start", "sanity check: %s" % e)
            t.ok = False
            if t.server is not None:
                t.server.stop()
    shape = (prof["wrk_threads"], prof["wrk_connections"])
    wrk_phase(live, "keepalive", prof["rounds"], prof["keepalive"], budget, shape, warmup=prof["warmup"])
    wrk_phase(live, "close", prof["close_rounds"], prof["close"], budget, shape,
              extra=("-H", "Connection: close"), latency=False)
    hash_rows = hash_phase(live, prof, budget, tmp, shape) if hashing else []
    tls = []
    for t in live:
        if t.tls_port and t.ok and t.ensure_running("tls"):
            info = guarded(t, "tls", lambda: tls_sanity(t.tls_port))
            if info is not None:
                t.row["tls"] = info
                tls.append(t)
    wrk_phase(tls, "tls_keepalive", prof["tls_rounds"], prof["tls_keepalive"], budget, shape,
              warmup=prof["warmup"], tls=True)
    handshake_phase(tls, prof["hs_rounds"], prof["handshake"], prof["hs_clients"], budget)
    if h2:
        h2_tls = [t for t in live if not t.direct and t.extra is not None and t.extra.h2_tls]
        h2c = [t for t in live if not t.direct and t.extra is not None and t.extra.h2c]
        h2_phase(h2_tls, "h2_tls", True, prof, budget, tmp)
        h2_phase(h2c, "h2c", False, prof, budget, tmp)
    big_phase(live, prof["downloads"], budget)
    idle_phase(live, prof["idle"], budget, h2=h2)
    for t in live:
        if t.name == "sluice" and malloc_probe is not None:
            mallocs_phase(t, malloc_probe, prof["mallocs"], budget)
    for t in targets:
        if t.server is not None and t.server.proc is not None:
            if t.ok and not t.server.alive():
                t.error("exit", "%s exited during the run (%s): %s"
                        % (t.name, t.server.exit_text(), t.server.log_tail()))
            t.server.stop()
    return hash_rows
