"""``osdep.reuse_large_blocks``: a worker thread that allocates and frees a few megabytes per
dossier (each a little larger than the last, as dossiers are) reuses that memory instead of
faulting in fresh pages for each block (glibc only; elsewhere there is nothing to tune)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import resource, sys, threading
from msde_tui import osdep
tuned = osdep.reuse_large_blocks() if sys.argv[1] == "tuned" else False
def dossiers():
    for i in range(40):
        copy = bytearray(2**21 + i * 2**16)  # written (zeroed) through: every page touched
        del copy
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
worker = threading.Thread(target=dossiers)
worker.start()
worker.join()
print(tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> tuple[bool, int]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("MALLOC_MMAP_THRESHOLD_", None)
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    return out[0] == "True", int(out[1])


def test_blocks_freed_by_a_worker_are_reused_not_faulted_in_again() -> None:
    try:
        glibc = bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError, AttributeError):
        glibc = False
    if not glibc:
        pytest.skip("only glibc's malloc is tuned")
    untuned_ok, untuned = _faults("plain")
    tuned_ok, tuned = _faults("tuned")
    assert tuned_ok and not untuned_ok
    pages = (2**21 + 39 * 2**16) // 4096
    assert untuned > 20 * pages  # each block's pages faulted in afresh (40 blocks)
    assert tuned < 3 * pages  # the first block's pages, then reused
