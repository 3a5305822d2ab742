"""sluice's stats endpoint as the tests read it: `GET /stats` (JSON) and its parts, the
`stats { ... }` configuration block, waiting for reloads to be counted, and the samples of the
Prometheus page (`GET /metrics`)."""
from __future__ import annotations

import json
import re

from clients import get as raw_get
from processes import wait_until


def stats_block(port: int, allow=("127.0.0.0/8",)) -> str:
    """A top-level `stats { ... }` block (for http_config(main_extra=...))."""
    lines = [f"    listen 127.0.0.1:{port};"] + [f"    allow {a};" for a in allow]
    return "stats {\n" + "\n".join(lines) + "\n}\n"


def stats_get(port: int, path: str = "/stats", source: str = "127.0.0.1"):
    """One GET on the stats listener (fresh connection, strict client)."""
    return raw_get(port, path, host=f"127.0.0.1:{port}", source=source)


def stats(port: int) -> dict:
    r = stats_get(port)
    assert r.status == 200, f"GET /stats -> {r.status} {r.body[:200]!r}"
    return json.loads(r.body)


def frontend(st: dict, name: str) -> dict:
    found = [f for f in st["frontends"] if f["name"] == name]
    assert len(found) == 1, f"frontend {name!r} in /stats: {st['frontends']}"
    return found[0]


def backend(st: dict, name: str) -> dict:
    found = [b for b in st["backends"] if b["name"] == name]
    assert len(found) == 1, f"backend {name!r} in /stats: {st['backends']}"
    return found[0]


def server(st: dict, backend_name: str, address: str) -> dict:
    found = [s for s in backend(st, backend_name)["servers"] if s["address"] == address]
    assert len(found) == 1, f"server {address} of {backend_name} in /stats: {backend(st, backend_name)}"
    return found[0]


def current_workers(st: dict) -> list[int]:
    """Pids of the workers of the current generation according to /stats."""
    return sorted(w["pid"] for w in st["workers"] if w["generation"] == st["generation"])


def wait_reloads(port: int, done: int, timeout: float = 5.0) -> dict:
    """Wait until /stats counts `done` reloads (succeeded + failed); return that snapshot."""
    def ok():
        st = stats(port)
        r = st["reloads"]
        return st if r["succeeded"] + r["failed"] >= done else None
    return wait_until(ok, timeout, interval=0.05, what=f"{done} reloads counted in /stats")


def metrics_samples(text: str) -> list:
    """[(name, {label: value}, float value)] of a Prometheus text page."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        assert m, f"bad metrics line {line!r}"
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out
