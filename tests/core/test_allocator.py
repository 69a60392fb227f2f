"""shendu.allocator: after shendu's first op, a freed large array's memory is reused by the next
one (no fresh pages for the kernel to zero), and SHENDU_MALLOC=default leaves glibc alone."""

import ctypes
import os
import subprocess
import sys

import pytest


def _glibc() -> bool:
    try:
        ctypes.CDLL(None).gnu_get_libc_version  # noqa: B018
    except (OSError, AttributeError):
        return False
    return sys.platform.startswith("linux")


pytestmark = pytest.mark.skipif(not _glibc(), reason="malloc is tuned on Linux with glibc only")

# A "training step" after one shendu op: eight 8 MiB arrays alive at once, then all freed, five
# times; print the minor page faults of the last four steps (a fresh 8 MiB array costs 2,048).
# glibc's defaults give back what exceeds its trim threshold (twice the largest freed block), so
# every step faults most of its arrays in again.
CHILD = """
import resource, numpy as np, shendu, shendu.allocator
(shendu.ones(3) * 2).sum()                      # shendu's first op
print(shendu.allocator.keep_freed_memory())

def step():
    arrays = [np.ones(2 << 20, np.float32) for _ in range(8)]
    del arrays

step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(env_value: str | None) -> tuple[str, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.pop("SHENDU_MALLOC", None)
    if env_value is not None:
        env["SHENDU_MALLOC"] = env_value
    out = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], int(out[1])


def test_freed_arrays_are_reused_after_the_first_op():
    tuned, faults = _faults(None)
    assert tuned == "True"
    assert faults < 2048, f"{faults} page faults in four steps that reuse the same memory"


def test_shendu_malloc_default_leaves_glibc_alone():
    tuned, faults = _faults("default")
    assert tuned == "False"
    assert faults >= 4 * 2048, f"only {faults} page faults: glibc's defaults give freed memory back"
