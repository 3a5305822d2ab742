"""The report: markdown tables with every figure's ratio to HAProxy's, the notes under them,
and the JSON document with the raw numbers."""
import os
import platform
import time

from common import TLS12_CIPHERS, TLS13_SUITES, TLS_GROUPS, TLS_KEY, exe, version_of
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


def render_table(order, results, columns=COLUMNS, column_keys=COLUMN_KEYS, start_keys=("start",)):
    ref = results.get("haproxy", {})
    columns = list(zip(columns, column_keys))
    header = ["proxy"] + [c[0] for c, _ in columns]
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
            r = get(ref) if ref and not any(k in ref.get("errors", {}) for k in start_keys) else None
            if r:
                text += " (%.2fx)" % (v / r)
            cells.append(text)
        if start_err:
            cells[1] = "ERROR: " + start_err.replace("|", "/")[:200]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def print_report(order, results, prof, cert, tls_note, pinning, total, budget_seconds):
    """The tables and notes on stdout; returns (plain table, TLS table or None)."""
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
    for name in order:
        row = results.get(name, {})
        for key, err in row.get("errors", {}).items():
            print("- %s %s: %s" % (name, key, err))
        for note in row.get("notes", []):
            print("- %s note: %s" % (name, note))
    print("total time: %.1f s (budget %.0f s)" % (total, budget_seconds))
    return table, tls_table


def json_document(args, prof, results, tables, cert, pinning, nofile, total):
    table, tls_table = tables
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
            "sluice": version_of([args.sluice_bin, "--version"]) if os.access(args.sluice_bin, os.X_OK) else None,
        },
        "total_seconds": round(total, 1),
        "results": results,
        "table_markdown": table,
        "tls_table_markdown": tls_table,
        "tls": {"certificate": TLS_KEY, "ciphers_tls12": TLS12_CIPHERS, "suites_tls13": TLS13_SUITES,
                "groups": TLS_GROUPS} if cert is not None else None,
    }
