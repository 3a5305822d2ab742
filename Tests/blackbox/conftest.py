"""Fixtures for the sluice black-box tests.

Every test gets its own upstream servers and its own sluice process on free ports,
so tests are independent and can run in parallel.  Each test is bounded in time by
SIGALRM (default 30 s, ``@pytest.mark.deadline(N)`` to change it).
"""
from __future__ import annotations

import re
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ports import DeadPort, free_port
from processes import Sluice
from servers import RecordingUpstream, WerkzeugUpstream

DEFAULT_DEADLINE = 30


def pytest_configure(config):
    config.addinivalue_line("markers", "deadline(seconds): per-test time limit (SIGALRM)")


class DeadlineExceeded(Exception):
    pass


@pytest.fixture(autouse=True)
def _deadline(request):
    m = request.node.get_closest_marker("deadline")
    seconds = int(m.args[0]) if m else DEFAULT_DEADLINE

    def on_alarm(signum, frame):
        raise DeadlineExceeded(f"test exceeded its {seconds}s deadline")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for s in getattr(item, "_sluices", []):
            rep.sections.append((f"sluice stderr ({s.config.name})", s.log()[-8000:]))
            rep.sections.append((f"sluice config ({s.config.name})", s.config.read_text()))


def factory(build, teardown: str = "stop", hand_out=lambda obj: obj):
    """The body of a fixture handing out `build(...)` results (through `hand_out`) and calling
    their `teardown` method at the end of the test:  ``yield from factory(Cls)``."""
    made = []

    def make(*args, **kw):
        obj = build(*args, **kw)
        made.append(obj)
        return hand_out(obj)

    yield make
    for obj in made:
        getattr(obj, teardown)()


@pytest.fixture
def upstream():
    """upstream(name, handler=None, tcp=False, banner=b"") -> RecordingUpstream"""
    yield from factory(lambda name="up", handler=None, **kw: RecordingUpstream(name, handler, **kw))


@pytest.fixture
def werkzeug_app():
    app = WerkzeugUpstream()
    yield app
    app.stop()


@pytest.fixture
def dead_port():
    """dead_port() -> port refusing connections for the whole test."""
    yield from factory(DeadPort, "close", lambda d: d.port)


@pytest.fixture
def sluice(tmp_path, request):
    """sluice(config_text, ports=None, name=None, env=None) -> running Sluice.

    ``ports`` are the ports to wait for (default: every ``listen 127.0.0.1:N`` in the
    config); ``env``: variables added to sluice's environment.  At teardown the test fails if sluice died on its
    own (a crash), then it is stopped with SIGTERM (SIGKILL after 5 s)."""
    started = []
    request.node._sluices = started

    def start(config_text: str, ports=None, name=None, env=None):
        if ports is None:
            ports = [int(p) for p in re.findall(r"listen\s+127\.0\.0\.1:(\d+)", config_text)]
        s = Sluice(config_text, tmp_path, ports, name=name or f"sluice{len(started)}", env=env)
        started.append(s)
        return s

    yield start
    crashed = []
    for s in started:
        rc = s.proc.poll()
        if rc is not None and not getattr(s, "stopped_by_test", False):
            crashed.append((s.config.name, rc))
        s.stop()
    if crashed:
        pytest.fail(f"sluice exited on its own during the test: {crashed}")


def http_config(port: int, servers, *, balance: str = "round_robin",
                trusted: str = "127.0.0.2/32", connect_timeout: str = "1s",
                read_timeout: str = "3s", header_timeout: str = "2s",
                backend_extra: str = "", frontend_extra: str = "",
                workers="1", main_extra: str = "") -> str:
    """A one-backend HTTP configuration.  `servers`: strings like "127.0.0.1:81 weight=3".
    `workers` (a number or "auto") and `main_extra` (top-level directives such as a
    `stats { ... }` block or `drain_timeout`) default to the historical text."""
    srv = "\n".join(f"    server {s};" for s in servers)
    return f"""\
workers {workers};
error_log stderr info;
{main_extra}backend app {{
    balance {balance};
{srv}
    timeout connect {connect_timeout};
    timeout read {read_timeout};
{backend_extra}
}}
frontend web {{
    listen 127.0.0.1:{port};
    trusted_proxies {trusted};
    backend app;
    timeout header {header_timeout};
{frontend_extra}
}}
"""


@pytest.fixture
def proxy(sluice, upstream):
    """proxy(*upstreams, **http_config kwargs) -> (Sluice, port): sluice in front of the
    given upstreams (default: one fresh RecordingUpstream, reachable as .upstreams)."""

    def make(*ups, **kw):
        ups = ups or (upstream("A"),)
        port = free_port()
        servers = kw.pop("servers", None) or [u.addr for u in ups]
        s = sluice(http_config(port, servers, **kw), ports=[port])
        s.upstreams = ups
        return s

    return make
