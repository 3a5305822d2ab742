"""Heap allocations counted per process with tools/malloc_count.c, for the allocation test and
the benchmark's mallocs/req figure.

malloc_count.c is an LD_PRELOAD library counting malloc, calloc, realloc and posix_memalign
calls.  A process that exits normally (exit(), so that destructors run: not _exit, not a
signal's default action) writes its total to ``$MALLOC_COUNT_FILE.<pid>``.  A forked child
(sluice's worker) inherits the library and the count reached at the fork, and writes its own
file when it exits.  The per-request figure is the difference between two runs that differ
only in their request count, divided by the difference of the counts: start-up, connection
set-up and shut-down cancel out.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parent.parent.parent
SOURCE = REPO / "tools" / "malloc_count.c"


def compiler() -> Optional[str]:
    return shutil.which("gcc")


def build(directory: Path) -> Path:
    """Compile malloc_count.c into `directory`; the path of the shared library."""
    cc = compiler()
    if cc is None:
        raise RuntimeError("gcc not found: cannot build tools/malloc_count.c")
    lib = Path(directory) / "malloc_count.so"
    r = subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", str(lib), str(SOURCE), "-ldl"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"gcc failed ({r.returncode}): {r.stderr[-2000:]}")
    return lib


def environment(lib: Path, prefix: Path) -> dict:
    """Variables that make a process count its allocations into `prefix`.<pid>."""
    return {"LD_PRELOAD": str(lib), "MALLOC_COUNT_FILE": str(prefix)}


def counts(prefix: Path) -> dict:
    """{pid: allocations} of every process that wrote its count under `prefix`."""
    prefix = Path(prefix)
    out = {}
    for f in prefix.parent.glob(prefix.name + ".*"):
        pid = f.name[len(prefix.name) + 1:]
        if pid.isdigit():
            out[int(pid)] = int(f.read_text().strip())
    return out


def count_of(prefix: Path, pid: int) -> int:
    """The count process `pid` wrote (it must have exited normally)."""
    found = counts(prefix)
    if pid not in found:
        raise AssertionError(f"process {pid} wrote no allocation count under {prefix} "
                             f"(files for {sorted(found)}); did it exit normally?")
    return found[pid]


def per_request(mallocs_small: int, requests_small: int, mallocs_large: int,
                requests_large: int) -> float:
    """Allocations per request between two runs that differ only in their request count."""
    return (mallocs_large - mallocs_small) / (requests_large - requests_small)


def fresh_prefix(directory: Path, name: str) -> Path:
    """A count-file prefix in `directory` with no files from an earlier run."""
    prefix = Path(directory) / name
    for f in prefix.parent.glob(prefix.name + ".*"):
        os.remove(f)
    return prefix
