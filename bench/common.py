"""What every bench module uses: paths, the workload constants, the TLS policy, the error type,
logging, the tools and their versions, the fd limit.

It also puts Tests/blackbox on sys.path: the bench shares the black-box tests' helpers (the
port allocator, /proc accounting, the keep-alive client, the allocation counter) instead of
keeping its own copies.
"""
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEST_HELPERS = REPO / "Tests" / "blackbox"
if str(TEST_HELPERS) not in sys.path:
    sys.path.append(str(TEST_HELPERS))

HOST = "127.0.0.1"
SMALL_BODY = b"0123456789abcdef"
BIG_SIZE = 100 * 1024 * 1024
NOFILE_WANTED = 65536
ALL_PROXIES = ["sluice", "haproxy", "nginx"]
# Idle upstream connections sluice and nginx keep per worker (their `keepalive`): enough for the
# HTTP/2 workload's 500 concurrent streams, as HAProxy's pool (unbounded by default) is; with 64,
# every stream beyond the pool opened and closed an upstream connection.
UPSTREAM_POOL = 512
HASH_HEADER = "X-User-Id"   # what the hashing rows hash (wrk sends a varying value: workloads.user_id_script)
HASH_USERS = 4096           # distinct X-User-Id values, cycled

# TLS: one ECDSA P-256 certificate for all three proxies, and the same protocol policy for all:
# TLS 1.2 + 1.3, Mozilla "intermediate" ciphers and groups, client cipher preference, session
# tickets on, ALPN http/1.1 (sluice's built-in defaults, configured explicitly for the others).
TLS12_CIPHERS = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                 "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                 "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305")
TLS13_SUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
TLS_GROUPS = "X25519:prime256v1:secp384r1"
TLS_KEY = "ECDSA P-256"


class BenchError(Exception):
    """A workload or a proxy start failed; the message goes into the proxy's row."""


T0 = time.monotonic()


def log(msg):
    sys.stderr.write("bench %5.1fs: %s\n" % (time.monotonic() - T0, msg))
    sys.stderr.flush()


def ensure_tools(proxies, h2=True):
    """Install the missing tools with apt-get when running as root, or name them and stop."""
    needed = {"wrk": "wrk", "nginx": "nginx-light", "openssl": "openssl"}  # nginx is always the upstream
    if "haproxy" in proxies:
        needed["haproxy"] = "haproxy"
    if h2:
        needed["h2load"] = "nghttp2-client"
    missing = [pkg for exe_name, pkg in needed.items()
               if not shutil.which(exe_name) and not os.path.exists("/usr/sbin/" + exe_name)]
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit("bench: missing %s; install with: sudo apt-get install -y %s"
                         % (", ".join(missing), " ".join(missing)))
    log("installing %s (apt-get)" % " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update"], check=True, env=env, timeout=300, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends"] + missing, check=True, env=env,
                   timeout=600, stdout=subprocess.DEVNULL)


def exe(name):
    return shutil.which(name) or "/usr/sbin/" + name


def version_of(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=5)
        text = (r.stdout + r.stderr).strip().splitlines()
        return text[0] if text else "?"
    except Exception as e:  # noqa: BLE001 - informational only
        return "unavailable (%s)" % e


def raise_nofile():
    """Raise RLIMIT_NOFILE as far as allowed (root: to NOFILE_WANTED). Returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for want in (NOFILE_WANTED, hard):
        if want == resource.RLIM_INFINITY:
            continue
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), max(hard, want)))
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
