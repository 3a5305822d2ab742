"""The report: markdown tables with every figure's ratio to HAProxy's (the hashing and HTTP/2
tables: to HAProxy's and nginx's), the per-worker split, the notes under them, and the JSON
document with the raw numbers."""
import os
import platform
import time

from common import HASH_HEADER, HASH_USERS, TLS12_CIPHERS, TLS13_SUITES, TLS_GROUPS, TLS_KEY, exe, version_of
from processes import CLK_TCK
from proxies import haproxy_maxconn

COLUMNS = [
    # header, getter, format
    ("req/s", lambda r: r.get("keepalive", {}).get("rps"), "{:,.0f}"),
    ("CPU µs/req", lambda r: r.get("keepalive", {}).get("cpu_us_per_req"), "{:.2f}"),
    ("p50 ms", lambda r: r.get("keepalive", {}).get("p50_ms"), "{:.3f}"),
    ("p99 ms", lambda r: r.get("keepalive", {}).get("p99_ms"), "{:.3f}"),
    ("conn/req req/s", lambda r: r.get("close", {}).get("rps"), "{:,.0f}"),
    ("conn/req CPU µs/req", lambda r: r.get("close", {}).get("cpu_us_per_req"), "{:.2f}"),
    ("100 MiB GB/s", lambda r: r.get("big", {}).get("gbps"), "{:.2f}"),
    ("idle KiB/conn", lambda r: (r["idle"]["bytes_per_conn"] / 1024.0) if "idle" in r else None, "{:.2f}"),
    ("mallocs/req", lambda r: r.get("mallocs", {}).get("per_request"), "{:.4f}"),
]
COLUMN_KEYS = ["keepalive", "keepalive", "keepalive", "keepalive", "close", "close", "big", "idle", "mallocs"]

TLS_COLUMNS = [
    ("TLS req/s", lambda r: r.get("tls_keepalive", {}).get("rps"), "{:,.0f}"),
    ("TLS CPU µs/req", lambda r: r.get("tls_keepalive", {}).get("cpu_us_per_req"), "{:.2f}"),
    ("TLS p99 ms", lambda r: r.get("tls_keepalive", {}).get("p99_ms"), "{:.3f}"),
    ("new handshakes/s", lambda r: r.get("tls_handshake", {}).get("rate"), "{:,.0f}"),
    ("CPU µs/handshake", lambda r: r.get("tls_handshake", {}).get("cpu_us_per_handshake"), "{:.1f}"),
]
TLS_COLUMN_KEYS = ["tls_keepalive", "tls_keepalive", "tls_keepalive", "tls_handshake", "tls_handshake"]

HASH_COLUMNS = [
    ("req/s", lambda r: r.get("keepalive", {}).get("rps"), "{:,.0f}"),
    ("CPU µs/req", lambda r: r.get("keepalive", {}).get("cpu_us_per_req"), "{:.2f}"),
    ("p99 ms", lambda r: r.get("keepalive", {}).get("p99_ms"), "{:.3f}"),
    ("CPU/req vs sluice round_robin", lambda r: r.get("cpu_vs_round_robin"), "{:.3f}x"),
]
HASH_COLUMN_KEYS = ["keepalive"] * 4
HASH_REFS = [("haproxy hash", "HAProxy"), ("nginx hash", "nginx")]

H2_COLUMNS = [
    ("h2 TLS req/s", lambda r: r.get("h2_tls", {}).get("rps"), "{:,.0f}"),
    ("h2 TLS CPU µs/req", lambda r: r.get("h2_tls", {}).get("cpu_us_per_req"), "{:.2f}"),
    ("h2 TLS p99 ms", lambda r: r.get("h2_tls", {}).get("p99_ms"), "{:.2f}"),
    ("h2c req/s", lambda r: r.get("h2c", {}).get("rps"), "{:,.0f}"),
    ("h2c CPU µs/req", lambda r: r.get("h2c", {}).get("cpu_us_per_req"), "{:.2f}"),
    ("h2c p99 ms", lambda r: r.get("h2c", {}).get("p99_ms"), "{:.2f}"),
    ("idle h2c KiB/conn", lambda r: (r["idle_h2"]["bytes_per_conn"] / 1024.0) if "idle_h2" in r else None, "{:.2f}"),
]
H2_COLUMN_KEYS = ["h2_tls", "h2_tls", "h2_tls", "h2c", "h2c", "h2c", "idle_h2"]
BOTH_REFS = [("haproxy", "HAProxy"), ("nginx", "nginx")]

HASH_CPU_LIMIT = 1.05   # issue 11: hashing costs at most 5% CPU per request over round-robin


def ratio_text(name, v, get, results, refs, start_keys):
    """" (0.97x)" for one unlabelled reference, " (0.97x HAProxy, 1.01x nginx)" for labelled ones;
    a row is not compared with itself in the labelled form, nor ever with a reference that failed
    to start."""
    parts = []
    for ref_name, label in refs:
        ref = results.get(ref_name)
        if (label and ref_name == name) or not ref or any(k in ref.get("errors", {}) for k in start_keys):
            continue
        r = get(ref)
        if r:
            parts.append("%.2fx%s" % (v / r, " " + label if label else ""))
    return " (%s)" % ", ".join(parts) if parts else ""


def render_table(order, results, columns=COLUMNS, column_keys=COLUMN_KEYS, start_keys=("start",),
                 refs=(("haproxy", None),), first="proxy", no_ratio=()):
    columns = list(zip(columns, column_keys))
    header = [first] + [c[0] for c, _ in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for name in order:
        row = results.get(name)
        if row is None:
            continue
        label = "direct to upstream" if name == "direct" else name
        cells = [label]
        start_err = next((row["errors"][k] for k in start_keys if k in row["errors"]), None)
        for (title, get, fmt), key in columns:
            if start_err:
                cells.append("")
                continue
            v = get(row)
            if v is None:
                err = row["errors"].get(key)
                cells.append(("ERR: " + err[:60]) if err and not err.startswith("skipped") else
                             ("skipped" if err else ""))
                continue
            text = fmt.format(v)
            if name == "direct" and "CPU" in title:
                cells.append("(%s upstream)" % text)
                continue
            if title not in no_ratio:
                text += ratio_text(name, v, get, results, refs, start_keys)
            cells.append(text)
        if start_err:
            cells[1] = "ERROR: " + start_err.replace("|", "/")[:200]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def render_split(split):
    """The per-worker split table: one row per proxy and workload."""
    lines = ["| proxy (2 workers) | workload | req/s | requests per worker | shares | max deviation from mean |",
             "|---|---|---|---|---|---|"]
    labels = {"sluice": "sluice `workers 2`", "nginx reuseport": "nginx `reuseport`"}
    for name, row in split.items():
        label = labels.get(name, name)
        start_err = row["errors"].get("start")
        if start_err:
            text = "skipped" if start_err.startswith("skipped") else "ERROR: " + start_err.replace("|", "/")[:160]
            lines.append("| %s | | %s | | | |" % (label, text))
            continue
        for key, mode in (("keepalive", "keep-alive"), ("close", "Connection: close")):
            res = row.get(key)
            if res is None:
                err = row["errors"].get(key, "not run")
                lines.append("| %s | %s | ERR: %s | | | |" % (label, mode, err.replace("|", "/")[:100]))
                continue
            conns = ""
            if res.get("connections_midrun"):
                conns = " (connections mid-run: %s)" % " / ".join(str(c) for c in res["connections_midrun"])
            lines.append("| %s | %s | %s | %s%s | %s | %.1f%% |" % (
                label, mode, "{:,.0f}".format(res["rps"]), " / ".join("{:,}".format(n) for n in res["requests"]),
                conns, " / ".join("%.1f%%" % x for x in res["shares_pct"]), res["max_deviation_pct"]))
    return "\n".join(lines)


def hash_verdict(hashing):
    """sluice hash's CPU per request over sluice round-robin's (also put into the hash row)."""
    res = hashing["results"]
    rr, h = res.get("sluice round_robin", {}), res.get("sluice hash", {})
    a, b = rr.get("keepalive", {}).get("cpu_us_per_req"), h.get("keepalive", {}).get("cpu_us_per_req")
    if not a or not b:
        return None
    h["cpu_vs_round_robin"] = b / a
    rr["cpu_vs_round_robin"] = 1.0
    return b / a


def h2_verdicts(results):
    """sluice's HTTP/2 figures against issue 10's targets: CPU per request at most HAProxy's, an
    idle HTTP/2 connection at most twice an idle HTTP/1.1 one."""
    out = []
    sl, ha = results.get("sluice", {}), results.get("haproxy", {})
    for key, label in (("h2_tls", "h2 TLS"), ("h2c", "h2c")):
        a, b = sl.get(key, {}).get("cpu_us_per_req"), ha.get(key, {}).get("cpu_us_per_req")
        if a and b:
            out.append("sluice %s CPU/request = %.2fx HAProxy's (issue 10: at most 1.00x): %s"
                       % (label, a / b, "within" if a <= b else "OVER"))
    h2, h1 = sl.get("idle_h2", {}).get("bytes_per_conn"), sl.get("idle", {}).get("bytes_per_conn")
    if h2 and h1 and h1 > 0:
        out.append("sluice idle h2c connection = %.1fx an idle HTTP/1.1 one (issue 10: at most 2x): %s"
                   % (h2 / h1, "within" if h2 <= 2 * h1 else "OVER"))
    return out


def print_report(order, results, prof, cert, tls_note, pinning, total, budget_seconds, hashing=None, split=None,
                 h2=True):
    """The tables and notes on stdout; returns (plain table, TLS table or None, hashing table or
    None, HTTP/2 table or None, split table or None)."""
    table = render_table(order, results)
    wrk = "wrk -t%d -c%d" % (prof["wrk_threads"], prof["wrk_connections"])
    print()
    print("CPU pinning: %s." % pinning.describe())
    print()
    print(table)
    print()
    print("Ratios are to HAProxy's figure (higher is better for req/s and GB/s, lower for the rest).")
    print("%s, rounds interleaved across proxies: keep-alive %dx%ds (after %ds warm-up), "
          "Connection: close %dx%ds; 100 MiB x%d; %d idle connections on a fresh proxy; "
          "CPU = proxy process tree (%d ticks/s) / requests; p50/p99 = median over rounds; "
          "mallocs/req (sluice only) = its worker's heap allocations under LD_PRELOAD, "
          "(count after %d - after %d requests) / %d."
          % (wrk, prof["rounds"], prof["keepalive"], prof["warmup"], prof["close_rounds"], prof["close"],
             prof["downloads"], prof["idle"], CLK_TCK, prof["mallocs"][1], prof["mallocs"][0],
             prof["mallocs"][1] - prof["mallocs"][0]))
    tls_table = None
    if cert is not None:
        tls_order = [n for n in order if n != "direct"]
        tls_table = render_table(tls_order, results, TLS_COLUMNS, TLS_COLUMN_KEYS, start_keys=("start", "tls"))
        negotiated = sorted({"%s %s" % (results[n]["tls"]["version"], results[n]["tls"]["cipher"])
                             for n in tls_order if "tls" in results.get(n, {})})
        print()
        print("TLS termination (one %s certificate for all; negotiated: %s):" % (TLS_KEY, ", ".join(negotiated) or "-"))
        print()
        print(tls_table)
        print()
        print("TLS req/s: %s keep-alive over https, %dx%ds (after %ds warm-up); new handshakes: %d parallel "
              "`openssl s_time -new` (full handshakes, no resumption, no request), %dx%ds; CPU = proxy process "
              "tree / requests or handshakes."
              % (wrk, prof["tls_rounds"], prof["tls_keepalive"], prof["warmup"], prof["hs_clients"],
                 prof["hs_rounds"], prof["handshake"]))
    elif tls_note:
        print(tls_note)
    hash_table = None
    if hashing and hashing["order"]:
        ratio = hash_verdict(hashing)
        hash_table = render_table(hashing["order"], hashing["results"], HASH_COLUMNS, HASH_COLUMN_KEYS,
                                  refs=HASH_REFS, first="backend balance", no_ratio=(HASH_COLUMNS[3][0],))
        print()
        print("Load balancing: `balance hash` on %s vs round-robin, over the same four upstream servers "
              "(the upstream nginx's four ports):" % HASH_HEADER)
        print()
        print(hash_table)
        print()
        print("%s keep-alive, each request with one of %d %s values (wrk Lua script, requests prebuilt), %dx%ds "
              "(after %ds warm-up), rounds interleaved; each proxy's hashing frontend is in its main process. "
              "sluice: `balance hash; hash_key header %s;` and `balance round_robin`; HAProxy: `balance hdr(%s)` "
              "+ `hash-type consistent`; nginx: `hash $http_%s consistent`. Ratios: to HAProxy's and nginx's "
              "hash rows."
              % (wrk, HASH_USERS, HASH_HEADER, prof["hash_rounds"], prof["hash"], prof["warmup"], HASH_HEADER,
                 HASH_HEADER, HASH_HEADER.lower().replace("-", "_")))
        if ratio is not None:
            print("sluice hash CPU/request = %.3fx round_robin's (issue 11: at most %.2fx): %s"
                  % (ratio, HASH_CPU_LIMIT, "within" if ratio <= HASH_CPU_LIMIT else "OVER"))
    h2_table = None
    h2_order = [n for n in order if n != "direct"]
    if h2 and any(k in results.get(n, {}) or k in results.get(n, {}).get("errors", {})
                  for n in h2_order for k in ("h2_tls", "h2c", "idle_h2")):
        h2_table = render_table(h2_order, results, H2_COLUMNS, H2_COLUMN_KEYS, refs=BOTH_REFS)
        print()
        print("HTTP/2 (h2load, %d connections x %d concurrent streams; upstream HTTP/1.1):" % (
            prof["h2_clients"], prof["h2_streams"]))
        print()
        print(h2_table)
        print()
        print("h2load -t%d -c%d -m%d, %dx%ds per transport (after %ds warm-up), rounds interleaved; TLS: ALPN h2 "
              "(sluice: its TLS listener, `http2 on` by default; HAProxy: `bind ... ssl crt ... alpn h2,http/1.1`; "
              "nginx: `listen ... ssl http2`, `http2 on` from 1.25.1); h2c: prior knowledge (sluice: its plain "
              "listener; HAProxy: `bind ... proto h2`; nginx: `listen ... http2`). CPU = proxy process tree / "
              "requests (the 50 handshakes included); p99 from h2load's per-request log. idle h2c: %d clear-text "
              "HTTP/2 connections with one request each on a fresh proxy, RSS growth / connections (compare idle "
              "KiB/conn above). Ratios: to HAProxy's, then nginx's."
              % (prof["wrk_threads"], prof["h2_clients"], prof["h2_streams"], prof["h2_rounds"], prof["h2"],
                 prof["warmup"], prof["idle"]))
        for line in h2_verdicts(results):
            print(line)
    split_table = None
    if split:
        split_table = render_split(split)
        print()
        print("Per-worker split (two workers on every CPU; wrk and the upstream on the load CPUs as above):")
        print()
        print(split_table)
        print()
        print("wrk -t%d, %d connections for keep-alive (the kernel's hash splits connections binomially: with "
              "%d, one standard deviation is %.0f%% of a worker's mean count), %d for Connection: close, "
              "%ds per workload; sluice: growth of /stats workers[].requests_total over the run; nginx: "
              "`worker_processes 2`, `listen ... reuseport`, requests counted by worker pid in an access log. "
              "Deviation = the largest |worker's requests - mean| / mean (issue 11: within 20%% for sluice)."
              % (prof["wrk_threads"], prof["split_keepalive"], prof["wrk_connections"],
                 100.0 / prof["wrk_connections"] ** 0.5, prof["wrk_connections"], prof["split"]))
    for name in order:
        row = results.get(name, {})
        for key, err in row.get("errors", {}).items():
            print("- %s %s: %s" % (name, key, err))
        for note in row.get("notes", []):
            print("- %s note: %s" % (name, note))
    for name in (hashing or {}).get("order", []):
        for key, err in hashing["results"][name].get("errors", {}).items():
            print("- %s %s: %s" % (name, key, err))
    for name, row in (split or {}).items():
        for key, err in row.get("errors", {}).items():
            print("- split %s %s: %s" % (name, key, err))
    print("total time: %.1f s (budget %.0f s)" % (total, budget_seconds))
    return table, tls_table, hash_table, h2_table, split_table


def json_document(args, prof, results, tables, cert, pinning, nofile, total, hashing=None, split=None):
    table, tls_table, hash_table, h2_table, split_table = tables
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "profile": "quick" if args.quick else "full",
        "parameters": prof,
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "clk_tck": CLK_TCK,
                    "rlimit_nofile": nofile, "haproxy_maxconn": haproxy_maxconn(nofile)},
        "pinning": pinning.as_json(),
        "versions": {
            "haproxy": version_of([exe("haproxy"), "-v"]),
            "nginx": version_of([exe("nginx"), "-v"]),
            "wrk": version_of(["wrk", "--version"]),
            "openssl": version_of([exe("openssl"), "version"]),
            "h2load": version_of(["h2load", "--version"]),
            "sluice": version_of([args.sluice_bin, "--version"]) if os.access(args.sluice_bin, os.X_OK) else None,
        },
        "total_seconds": round(total, 1),
        "results": results,
        "table_markdown": table,
        "tls_table_markdown": tls_table,
        "hash": hashing,
        "hash_table_markdown": hash_table,
        "h2_table_markdown": h2_table,
        "worker_split": split,
        "worker_split_table_markdown": split_table,
        "tls": {"certificate": TLS_KEY, "ciphers_tls12": TLS12_CIPHERS, "suites_tls13": TLS13_SUITES,
                "groups": TLS_GROUPS} if cert is not None else None,
    }
