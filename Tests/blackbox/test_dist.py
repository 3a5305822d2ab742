"""`make dist`: one self-contained binary an operator copies to a Debian machine without Swift,
and the systemd unit that runs it."""
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from conftest import http_config
from ports import free_port
from processes import Sluice

ROOT = Path(__file__).resolve().parents[2]
DIST = Path(os.environ.get("SLUICE_DIST", ROOT / "dist" / "sluice"))
# What the binary may load at run time: glibc, OpenSSL, the C++ runtime and libgcc.
ALLOWED = {"linux-vdso.so.1", "libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2", "libssl.so.3",
           "libcrypto.so.3", "libstdc++.so.6", "libgcc_s.so.1", "libpthread.so.0", "libdl.so.2"}

pytestmark = pytest.mark.skipif(not DIST.exists(), reason=f"{DIST} not built (make dist)")


def bare_env():
    """No Swift on PATH or in the library path: as on a machine without the toolchain."""
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/nonexistent", "SWIFT_BACKTRACE": "enable=no"}


def test_size_and_libraries():
    assert DIST.stat().st_size <= 15 * 1024 * 1024, DIST.stat().st_size
    out = subprocess.run(["ldd", str(DIST)], capture_output=True, text=True, check=True).stdout
    libraries = {Path(line.split()[0]).name for line in out.splitlines() if line.strip()}
    assert libraries <= ALLOWED, libraries - ALLOWED
    assert "swift" not in out.lower(), out
    symbols = subprocess.run(["nm", str(DIST)], capture_output=True, text=True).stdout
    assert symbols == "" or "ICU" not in symbols, "stripped, and no ICU"


def test_runs_without_the_toolchain(tmp_path, upstream):
    r = subprocess.run([str(DIST), "--version"], env=bare_env(), capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and re.fullmatch(r"sluice \d+\.\d+\.\d+\n", r.stdout), r
    r = subprocess.run([str(DIST), "-t", "-c", str(ROOT / "proxy.conf.example")], env=bare_env(),
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and "configuration ok" in r.stdout, r
    up = upstream("A")
    port = free_port()
    s = Sluice(http_config(port, [up.addr]), tmp_path, [port], binary=str(DIST), env=bare_env())
    try:
        with __import__("socket").create_connection(("127.0.0.1", port), timeout=3) as c:
            c.sendall(b"GET /dist HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := c.recv(65536):
                data += chunk
        assert data.startswith(b"HTTP/1.1 200"), data[:100]
        assert [q.target for q in up.requests] == ["/dist"]
    finally:
        s.stop()


def unit_commands():
    text = (ROOT / "deploy" / "sluice.service").read_text()
    return {k: [shlex.split(v) for kk, v in re.findall(r"^(Exec\w+)=(.+)$", text, re.M) if kk == k]
            for k in ("ExecStartPre", "ExecStart", "ExecReload")}


def test_systemd_unit_commands_are_valid(tmp_path):
    """Each command of the unit, run with the dist binary and a real configuration in place of
    /etc/sluice/proxy.conf, is a command sluice understands."""
    cmds = unit_commands()
    assert cmds["ExecStart"] and cmds["ExecReload"], cmds
    conf = tmp_path / "proxy.conf"
    conf.write_text(http_config(free_port(), ["127.0.0.1:9"]) + f"pid_file {tmp_path}/sluice.pid;\n")
    def local(argv):
        return [str(DIST) if a.endswith("/sluice") else str(conf) if a.endswith("/proxy.conf") else a for a in argv]
    (check,) = cmds["ExecStartPre"]
    r = subprocess.run(local(check), capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and "configuration ok" in r.stdout, r
    (reload,) = cmds["ExecReload"]
    r = subprocess.run(local(reload), capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and "is sluice running?" in r.stderr, r   # nothing running: a clear error
    (start,) = cmds["ExecStart"]
    assert local(start)[1:] == ["-c", str(conf)]


def test_systemd_accepts_the_unit(tmp_path):
    analyze = subprocess.run(["which", "systemd-analyze"], capture_output=True, text=True).stdout.strip()
    if not analyze:
        pytest.skip("systemd-analyze is not installed")
    text = (ROOT / "deploy" / "sluice.service").read_text().replace("/usr/local/bin/sluice", str(DIST))
    unit = tmp_path / "sluice.service"
    unit.write_text(text)
    r = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "sluice.service" not in r.stderr, r.stderr
