"""Processes: the sluice process wrapper, what /proc says about processes and sockets, and
polling with deadlines.

* ``Sluice``: ``sluice -c CONFIG`` in its own session, stderr captured, readiness by connect,
  signals, reload, SIGTERM stop; ``run_cli`` for one-shot command lines.
* /proc: ``proc_stat``, ``alive``, ``children`` (the master's workers), ``process_tree`` and the
  tree's CPU and RSS (the benchmark's accounting), ``cpu_seconds`` / ``rss_bytes`` of one
  process, listening-socket and fd-table inodes, ``worker_of`` (which worker holds a client's
  connection).
* Polling: ``wait_until`` and the waits built on it.

Standard library only: bench/ imports this module too.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

from ports import port_accepts

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SLUICE_BIN = os.environ.get("SLUICE_BIN", str(REPO / ".build" / "release" / "sluice"))
CLK_TCK = os.sysconf("SC_CLK_TCK")


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


# ------------------------------------------------------------------------- processes

def _stat_fields(pid: int) -> list:
    """The fields of /proc/PID/stat after the command name (which may contain spaces and
    parentheses: split after the last ')').  [0] is the state, [1] the ppid."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return data[data.rfind(b")") + 2:].split()


def proc_stat(pid: int) -> Optional[tuple[str, int]]:
    """(state, ppid) of a process, or None when it does not exist."""
    try:
        rest = _stat_fields(pid)
    except OSError:
        return None
    return rest[0].decode(), int(rest[1])


def _all_processes() -> dict:
    """{pid: (state, ppid)} of every process in /proc (the kernel here has no
    /proc/PID/task/*/children, so every /proc/*/stat is read)."""
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st is not None:
                out[int(name)] = st
    return out


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def children(pid: int) -> list[int]:
    """Live (non-zombie) processes whose parent is `pid`, sorted."""
    return sorted(p for p, (state, ppid) in _all_processes().items()
                  if ppid == pid and state not in ("Z", "X"))


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (zombies included: their CPU is not reaped yet)."""
    kids: dict = {}
    for pid, (_, ppid) in _all_processes().items():
        kids.setdefault(ppid, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(kids.get(pid, ()))
    return tree


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process."""
    f = _stat_fields(pid)
    return (int(f[11]) + int(f[12])) / CLK_TCK


def tree_cpu_seconds(root: int) -> float:
    """utime + stime of every process in the tree, plus cutime + cstime (reaped children)."""
    ticks = 0
    for pid in process_tree(root):
        try:
            f = _stat_fields(pid)
        except OSError:
            continue
        ticks += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return ticks / CLK_TCK


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def tree_rss_bytes(root: int) -> int:
    """The summed VmRSS of the tree (processes that vanish meanwhile count 0)."""
    total = 0
    for pid in process_tree(root):
        try:
            total += rss_bytes(pid)
        except (OSError, AssertionError):
            continue
    return total


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


# --------------------------------------------------------------------------- sockets

def tcp_table() -> list:
    """[(local (ip, port), remote (ip, port), state, inode)] of IPv4 TCP sockets."""
    def addr(x):
        ip, port = x.split(":")
        return socket.inet_ntoa(bytes.fromhex(ip)[::-1]), int(port, 16)

    out = []
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        f = line.split()
        out.append((addr(f[1]), addr(f[2]), f[3], int(f[9])))
    return out


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


def wait_listening(port: int, timeout: float = 3.0) -> None:
    """Wait until something LISTENs on `port`, without connecting to it (a probe connection
    would show in the connection counters)."""
    wait_until(lambda: listening_inodes(port), timeout, what=f"a listener on port {port}")


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


def worker_of(sock: socket.socket, pids) -> Optional[int]:
    """The pid among `pids` whose fd table holds the server side of the client socket."""
    mine = sock.getsockname()
    peer = sock.getpeername()
    inode = None
    for local, remote, _, ino in tcp_table():
        if local == peer and remote == mine:
            inode = ino
            break
    if inode is None:
        return None
    for pid in pids:
        if inode in socket_inodes_of(pid):
            return pid
    return None


# ---------------------------------------------------------------------------- sluice

def sluice_env(extra: Optional[dict] = None) -> dict:
    """The environment sluice runs with: ours, without proxy variables and Swift's backtracer,
    plus `extra` (e.g. LD_PRELOAD)."""
    env = dict(os.environ)
    env["SWIFT_BACKTRACE"] = "enable=no"
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    env.update(extra or {})
    return env


def terminate(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it is still running 5 s later."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def run_cli(*args: str, timeout: float = 10) -> subprocess.CompletedProcess:
    return subprocess.run([SLUICE_BIN, *args], capture_output=True, text=True,
                          timeout=timeout, env=sluice_env())


class Sluice:
    """sluice -c CONFIG in the foreground, stderr captured to a file.  `env`: variables added
    to its environment; `binary`: another sluice binary than SLUICE_BIN (the dist one)."""

    def __init__(self, config_text: str, workdir: Path, ports: list[int],
                 name: str = "sluice", env: Optional[dict] = None, binary: str = SLUICE_BIN):
        self.workdir = Path(workdir)
        self.config = self.workdir / f"{name}.conf"
        self.config.write_text(config_text)
        self.log_path = self.workdir / f"{name}.stderr"
        self.ports = ports
        if not os.path.exists(binary):
            raise RuntimeError(f"sluice binary not found at {binary} "
                               "(build it or set SLUICE_BIN)")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary, "-c", str(self.config)],
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log, env=sluice_env(env),
                                     cwd=str(self.workdir), start_new_session=True)
        self.exited_early: Optional[int] = None
        self._wait_ready()

    @property
    def port(self) -> int:
        return self.ports[0]

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _wait_ready(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(self.ports)
        while pending:
            rc = self.proc.poll()
            if rc is not None:
                raise RuntimeError(f"sluice exited with {rc} during startup:\n{self.log()}")
            if port_accepts(pending[0]):
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sluice not accepting on {pending} after {timeout}s:\n"
                                   f"{self.log()}")
            time.sleep(0.02)

    # -- process model, signals, reload -------------------------------------------
    @property
    def pid(self) -> int:
        """The master's pid (the process the tests started)."""
        return self.proc.pid

    def signal(self, sig: int) -> None:
        """Send `sig` to the master."""
        os.kill(self.proc.pid, sig)

    def write_config(self, text: str) -> None:
        """Replace the configuration file (the next SIGHUP reads it)."""
        tmp = self.config.with_name(self.config.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.config)

    def reload(self, text: Optional[str] = None) -> None:
        """Optionally rewrite the configuration, then SIGHUP the master."""
        if text is not None:
            self.write_config(text)
        self.signal(signal.SIGHUP)

    def workers(self) -> list:
        """Live child processes of the master, sorted."""
        return children(self.proc.pid)

    def wait_log(self, pattern: str, timeout: float = 3.0, start: int = 0) -> str:
        """Wait for a line of the captured stderr/stdout (from byte `start` on) matching the
        regular expression `pattern`; returns the line."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log()[start:].splitlines():
                if rx.search(line):
                    return line
            if time.monotonic() >= deadline:
                raise AssertionError(f"no log line matching {pattern!r} within {timeout}s; "
                                     f"log:\n{self.log()[start:][-3000:]}")
            time.sleep(0.02)

    def log_size(self) -> int:
        return len(self.log())

    def wait_exit(self, timeout: float) -> int:
        """Wait for the master to exit by itself (marks it stopped by the test)."""
        self.stopped_by_test = True
        return self.proc.wait(timeout)

    def stop(self) -> Optional[int]:
        """SIGTERM, then SIGKILL after 5 s.  Returns the exit code."""
        terminate(self.proc)
        # A worker process left behind would keep the port; kill our session's group.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._log.close()
        return self.proc.returncode
