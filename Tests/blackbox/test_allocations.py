"""Heap allocations per request (DESIGN "Hot path rules": a steady-state request should
allocate nothing; the guard SwiftNIO uses).

sluice runs with one worker and an access log to a file, under LD_PRELOAD of
tools/malloc_count.c (built here with gcc).  Two runs differ only in their request count:
N1 = 2,000 and N2 = 18,000 keep-alive requests spread on 8 connections.  SIGTERM stops each
run; the worker exits through exit(), so the library's destructor writes the worker's count to
a file named by its pid (the master writes its own).  Start-up, the 8 connections and shut-down
cost the same in both runs, so (worker count at N2 - at N1) / (N2 - N1) is what one more
request costs.
"""
import signal

import pytest

import malloc_counter
from clients import keepalive_requests
from conftest import http_config
from ports import free_port
from processes import wait_children
from servers import FastUpstream

N1, N2 = 2_000, 18_000
CONNECTIONS = 8
LIMIT = 0.01          # allocations per request


@pytest.fixture(scope="module")
def counter_lib(tmp_path_factory):
    if malloc_counter.compiler() is None:
        pytest.skip("gcc is not installed: tools/malloc_count.c cannot be built")
    return malloc_counter.build(tmp_path_factory.mktemp("malloc_count"))


@pytest.fixture
def fast_upstream():
    up = FastUpstream("A")
    yield up
    up.stop()


def _run(sluice, tmp_path, lib, up, requests: int) -> tuple:
    """One sluice run making `requests` requests: (worker's allocations, master's)."""
    name = f"run{requests}"
    port = free_port()
    prefix = malloc_counter.fresh_prefix(tmp_path, f"{name}.mallocs")
    log = tmp_path / f"{name}.access.log"
    s = sluice(http_config(port, [up.addr], frontend_extra=f'    access_log "{log}" combined;\n'),
               name=name, env=malloc_counter.environment(lib, prefix))
    [worker] = wait_children(s.pid, 1)
    keepalive_requests(port, requests, CONNECTIONS)
    s.signal(signal.SIGTERM)
    assert s.wait_exit(10) == 0, s.log()[-2000:]
    assert log.read_text().count("\n") == requests, "the access log did not get every request"
    return malloc_counter.count_of(prefix, worker), malloc_counter.count_of(prefix, s.pid)


@pytest.mark.deadline(60)
def test_steady_state_requests_do_not_allocate(sluice, tmp_path, counter_lib, fast_upstream):
    worker1, master1 = _run(sluice, tmp_path, counter_lib, fast_upstream, N1)
    worker2, master2 = _run(sluice, tmp_path, counter_lib, fast_upstream, N2)
    per = malloc_counter.per_request(worker1, N1, worker2, N2)
    print(f"worker mallocs: {worker1} after {N1} requests, {worker2} after {N2}: "
          f"{per:.5f} per request (master: {master1}, {master2})")
    assert worker1 > 0, "the counter saw no allocation at all: LD_PRELOAD had no effect"
    assert per < LIMIT, f"{per:.4f} allocations per request (limit {LIMIT})"
