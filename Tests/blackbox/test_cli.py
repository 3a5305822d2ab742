"""SPEC §1 command line and §2 configuration errors (FILE:LINE:COL)."""
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import http_config
from ports import free_port, port_accepts
from processes import SLUICE_BIN, run_cli, sluice_env

POS = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<col>\d+): (?P<msg>\S.*)$")


def good_config(port: int) -> str:
    return http_config(port, ["127.0.0.1:9"])


def check(tmp_path, text: str):
    f = tmp_path / "check.conf"
    f.write_text(text)
    return f, run_cli("-t", "-c", str(f))


def test_version():
    r = run_cli("--version")
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"sluice \d+\.\d+\.\d+\n?", r.stdout), repr(r.stdout)


def test_help():
    r = run_cli("-h")
    assert r.returncode == 0, r.stderr
    usage = r.stdout + r.stderr
    for flag in ("-c", "-t", "-s", "--version"):
        assert flag in usage, f"usage does not mention {flag}: {usage!r}"


def test_check_valid_config_does_not_serve(tmp_path):
    port = free_port()
    f, r = check(tmp_path, good_config(port))
    assert r.returncode == 0, r.stderr
    assert "configuration ok" in r.stdout + r.stderr
    assert not POS.search(r.stderr)
    assert not port_accepts(port), "-t must not start serving"


# (name, config lines, expected line, expected column or None, words the message names)
BACKEND = ["backend app {", "    server 127.0.0.1:9;", "}"]
FRONTEND = ["frontend web {", "    listen 127.0.0.1:{port};", "    backend app;", "}"]
ERRORS = [
    ("unknown_directive",
     ["workers 1;", "backend app {", "    blance round_robin;", "    server 127.0.0.1:9;", "}",
      *FRONTEND], 3, 5, ["blance"]),
    ("unknown_top_level",
     ["workers 1;", "frobnicate on;", *BACKEND, *FRONTEND], 2, 1, ["frobnicate"]),
    ("directive_in_wrong_block",
     ["workers 1;", "backend app {", "    server 127.0.0.1:9;", "    listen 127.0.0.1:1;", "}",
      *FRONTEND], 4, 5, ["listen"]),
    ("bad_weight",
     ["backend app {", "    server 127.0.0.1:9 weight=abc;", "}", *FRONTEND], 2, None, []),
    ("bad_duration",
     ["backend app {", "    server 127.0.0.1:9;", "    timeout read 5x;", "}", *FRONTEND],
     3, None, []),
    ("bad_size",
     [*BACKEND, "frontend web {", "    listen 127.0.0.1:{port};", "    backend app;",
      "    max_header_size lots;", "}"], 7, None, []),
    ("bad_balance",
     ["backend app {", "    balance random;", "    server 127.0.0.1:9;", "}", *FRONTEND],
     2, None, []),
    ("bad_workers", ["workers many;", *BACKEND, *FRONTEND], 1, None, []),
    ("duplicate_backend",
     [*BACKEND, "backend app {", "    server 127.0.0.1:10;", "}", *FRONTEND], 4, None, ["app"]),
    ("route_to_missing_backend",
     [*BACKEND, "frontend web {", "    listen 127.0.0.1:{port};",
      "    route path=/x/ backend=nosuch;", "    backend app;", "}"], 6, None, ["nosuch"]),
    ("default_backend_missing",
     [*BACKEND, "frontend web {", "    listen 127.0.0.1:{port};", "    backend nosuch;", "}"],
     6, None, ["nosuch"]),
]


@pytest.mark.parametrize("name,lines,line,col,words", ERRORS, ids=[e[0] for e in ERRORS])
def test_check_reports_position(tmp_path, name, lines, line, col, words):
    text = "\n".join(lines).replace("{port}", str(free_port())) + "\n"
    f, r = check(tmp_path, text)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "configuration ok" not in r.stdout + r.stderr
    errs = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert errs, "no error printed on stderr"
    m = POS.match(errs[0])
    assert m, f"not FILE:LINE:COL: message: {errs[0]!r}"
    assert m["file"] == str(f)
    assert int(m["line"]) == line, errs[0]
    if col is not None:
        assert int(m["col"]) == col, errs[0]
    for w in words:
        assert w in m["msg"], errs[0]


@pytest.mark.parametrize("name,lines,accept_lines", [
    ("missing_semicolon_before_brace",
     ["backend app {", "    server 127.0.0.1:9", "}", *FRONTEND], (2, 3)),
    ("frontend_without_listener",
     [*BACKEND, "frontend web {", "    backend app;", "}"], (4, 5, 6)),
    ("unclosed_block", [*BACKEND, "frontend web {", "    listen 127.0.0.1:{port};"], (4, 5, 6)),
    ("unterminated_string",
     [*BACKEND, *FRONTEND, 'error_log "stderr info;'], (8, 9)),
])
def test_check_reports_structural_errors(tmp_path, name, lines, accept_lines):
    text = "\n".join(lines).replace("{port}", str(free_port())) + "\n"
    f, r = check(tmp_path, text)
    assert r.returncode == 1, (r.stdout, r.stderr)
    errs = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert errs, "no error printed"
    m = POS.match(errs[0])
    assert m and m["file"] == str(f), errs[0]
    assert int(m["line"]) in accept_lines, errs[0]


def test_check_several_errors_one_line_each(tmp_path):
    lines = ["workers 1;", "backend app {", "    blance round_robin;", "    server 127.0.0.1:9;",
             "}", "frontend web {", "    listen 127.0.0.1:{port};", "    bakend app;",
             "    backend app;", "}"]
    f, r = check(tmp_path, "\n".join(lines).replace("{port}", str(free_port())) + "\n")
    assert r.returncode == 1
    errs = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert errs and all(POS.match(e) for e in errs), errs
    assert POS.match(errs[0])["line"] == "3"
    assert len(errs) <= 2


def test_check_comments_quotes_and_units_are_valid(tmp_path):
    port = free_port()
    text = f"""# leading comment
workers 1;  # trailing comment
error_log stderr info;
pid_file "{tmp_path}/my \\"quoted\\" sluice.pid";
backend app {{
    balance least_conn;
    server 127.0.0.1:9 weight=2 max_fails=3 fail_timeout=10s;
    server 127.0.0.1:10 backup;
    retries 1;
    keepalive 8;
    timeout connect 500ms;
    timeout read 1m;
}}
frontend web {{
    listen 127.0.0.1:{port};
    route host=api.example backend=app;
    backend app;
    timeout header 2s;
    timeout idle 1h;
    max_header_size 16k;
    max_body_size 1m;
}}
"""
    f, r = check(tmp_path, text)
    assert r.returncode == 0, r.stderr
    assert "configuration ok" in r.stdout + r.stderr


def test_check_missing_file(tmp_path):
    r = run_cli("-t", "-c", str(tmp_path / "nope.conf"))
    assert r.returncode == 1
    assert "nope.conf" in r.stderr


def test_startup_with_bad_config_exits_1(tmp_path):
    f = tmp_path / "bad.conf"
    f.write_text("workers 1;\nbackend app {\n    blance x;\n}\n")
    r = subprocess.run([SLUICE_BIN, "-c", str(f)], capture_output=True, text=True, timeout=10,
                       env=sluice_env())
    assert r.returncode == 1
    assert f"{f}:3:5:" in r.stderr


def test_startup_port_in_use_exits_1(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        f = tmp_path / "busy.conf"
        f.write_text(good_config(port))
        r = subprocess.run([SLUICE_BIN, "-c", str(f)], capture_output=True, text=True,
                           timeout=10, env=sluice_env())
        assert r.returncode == 1
        assert str(port) in r.stderr, r.stderr
    finally:
        busy.close()


def test_sigterm_stops_cleanly_with_exit_0(sluice):
    port = free_port()
    s = sluice(good_config(port))
    s.stopped_by_test = True
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(5) == 0
    t = time.monotonic()
    while port_accepts(port) and time.monotonic() - t < 2:
        time.sleep(0.05)
    assert not port_accepts(port), "listener still open after the stop"
