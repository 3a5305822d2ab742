"""Process-model helpers for the black-box tests: the master's worker processes (read from
/proc), listening-socket inodes, polling, and the stats endpoint.

Nothing here talks to sluice except through /proc, signals and HTTP on 127.0.0.0/8.
"""
from __future__ import annotations

import json
import os
import re
import socket
import time
from typing import Callable, Optional

from rawhttp import get as raw_get
from upstreams import free_port


# ---------------------------------------------------------------------------- polling

def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.02,
               what: str = "condition"):
    """Call `predicate` until it returns something truthy; return that value.
    Raises AssertionError naming `what` (and the last value) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


# ------------------------------------------------------------------------------- /proc

def proc_stat(pid: int) -> Optional[tuple[str, int]]:
    """(state, ppid) of a process, or None when it does not exist.  The command name in
    /proc/PID/stat may contain spaces and parentheses: split after the last ')'."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    rest = data[data.rfind(b")") + 2:].split()
    return rest[0].decode(), int(rest[1])


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def children(pid: int) -> list[int]:
    """Live (non-zombie) processes whose parent is `pid`, sorted.  The kernel here has no
    /proc/PID/task/*/children, so every /proc/*/stat is read."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st and st[1] == pid and st[0] not in ("Z", "X"):
            out.append(int(name))
    return sorted(out)


def wait_children(pid: int, count: int, timeout: float = 3.0, exclude=()) -> list[int]:
    """Wait until `pid` has exactly `count` live children, none of them in `exclude`."""
    excl = set(exclude)

    def ok():
        kids = children(pid)
        return kids if len(kids) == count and not excl & set(kids) else None

    return wait_until(ok, timeout, what=f"{count} worker processes of {pid} "
                                        f"(excluding {sorted(excl)}); have {children(pid)}")


def wait_gone(pids, timeout: float) -> None:
    pids = list(pids)
    wait_until(lambda: not any(alive(p) for p in pids), timeout,
               what=f"processes {pids} to exit (alive: {[p for p in pids if alive(p)]})")


def listening_inodes(port: int) -> set[int]:
    """Inodes of the LISTEN sockets bound to 127.0.0.1:port or *:port (IPv4 and IPv6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            local, state, inode = f[1], f[3], int(f[9])
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def socket_inodes_of(pid: int) -> set[int]:
    """Inodes of every socket in the fd table of `pid`."""
    out = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", link)
        if m:
            out.add(int(m.group(1)))
    return out


# ---------------------------------------------------------------------- stats endpoint

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


def wait_reloads(port: int, done: int, timeout: float = 5.0) -> dict:
    """Wait until /stats counts `done` reloads (succeeded + failed); return that snapshot."""
    def ok():
        st = stats(port)
        r = st["reloads"]
        return st if r["succeeded"] + r["failed"] >= done else None
    return wait_until(ok, timeout, interval=0.05, what=f"{done} reloads counted in /stats")


def current_workers(st: dict) -> list[int]:
    """Pids of the workers of the current generation according to /stats."""
    return sorted(w["pid"] for w in st["workers"] if w["generation"] == st["generation"])


def stats_block(port: int, allow=("127.0.0.0/8",)) -> str:
    """A top-level `stats { ... }` block (for http_config(main_extra=...))."""
    lines = [f"    listen 127.0.0.1:{port};"] + [f"    allow {a};" for a in allow]
    return "stats {\n" + "\n".join(lines) + "\n}\n"


def quiet_port(host: str = "127.0.0.1") -> int:
    """A free port below the kernel's ephemeral range (see upstreams.free_port, which also
    remembers what it handed out so that two picks in one test never collide)."""
    return free_port(host)


def wait_listening(port: int, timeout: float = 3.0) -> None:
    """Wait until something LISTENs on `port`, without connecting to it (a probe connection
    would show in the connection counters)."""
    wait_until(lambda: listening_inodes(port), timeout, what=f"a listener on port {port}")
