"""CPU pinning: the proxy under test on its own core(s), the load generator and the upstream on
the others.

On a small machine the proxy, wrk and the upstream otherwise share the cores, and every write
the proxy makes wakes wrk or the upstream on the proxy's own core: the proxy is preempted in
the middle of its event batch.  Measured here on 2 cores, unpinned, sluice's req/s read 0.68x
HAProxy's in some rounds (and swung +-20% between runs); pinned, sluice and HAProxy are at
about 1.0x.  Pinning puts every proxy in the same place, so the comparison is fair.

The plan: of the CPUs this process may use (sched_getaffinity), the proxy gets the last K
(K = 1, or as many as sluice has workers), and everything else (this process, and so wrk,
openssl s_time, the Python clients, and the upstream nginx) the others.  The proxies are
pinned at spawn, before exec, so that their worker processes inherit the mask.
"""
import os
from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Pinning:
    proxy: list = field(default_factory=list)     # CPUs of the proxy under test
    load: list = field(default_factory=list)      # CPUs of wrk, the upstream, the clients
    note: str = ""                                # why there is no pinning

    @property
    def active(self) -> bool:
        return bool(self.proxy and self.load)

    def proxy_cpus(self) -> Optional[set]:
        return set(self.proxy) if self.active else None

    def describe(self) -> str:
        if not self.active:
            return "none (%s)" % self.note
        return ("proxy under test on %s; wrk, the upstream nginx and the Python clients on %s"
                % (_cpu_list(self.proxy), _cpu_list(self.load)))

    def as_json(self) -> dict:
        return {"proxy_cpus": self.proxy, "load_cpus": self.load, "active": self.active,
                "note": self.note}


def _cpu_list(cpus) -> str:
    return ("CPU %d" % cpus[0]) if len(cpus) == 1 else "CPUs " + ",".join(map(str, cpus))


def available() -> list:
    return sorted(os.sched_getaffinity(0))


def proxy_core_count(sluice_workers: str, cpus: int) -> int:
    """K: 1 for one worker (and for HAProxy's nbthread 1, nginx's worker_processes 1); the
    number of sluice workers when it runs several; half the CPUs for `auto`.  At most cpus-1."""
    if sluice_workers == "auto":
        want = cpus // 2
    else:
        try:
            want = int(sluice_workers)
        except ValueError:
            want = 1
    return max(1, min(want, cpus - 1))


def plan(sluice_workers: str, proxy_cores: Optional[int] = None, enabled: bool = True) -> Pinning:
    cpus = available()
    if not enabled:
        return Pinning(note="--no-pin")
    if len(cpus) < 2:
        return Pinning(note="only %d CPU available" % len(cpus))
    k = proxy_cores if proxy_cores else proxy_core_count(sluice_workers, len(cpus))
    k = max(1, min(k, len(cpus) - 1))
    return Pinning(proxy=cpus[-k:], load=cpus[:-k])


def pin_this_process(pinning: Pinning) -> None:
    """This process, and every child it starts from now on unless pinned otherwise, runs on
    the load CPUs."""
    if pinning.active:
        os.sched_setaffinity(0, set(pinning.load))
