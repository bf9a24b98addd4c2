"""heap.tune: with glibc's thresholds set, a step's large arrays come back from the heap; without
them, a step whose arrays add up to more than twice its largest maps and faults its pages in
again at every call (the "slow process" state, heap.py). Each case runs in a fresh process,
where glibc's thresholds are still its defaults."""
import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="glibc's malloc only")

# An array of 2 MB, then steps of four 3 MB arrays allocated, written and freed: glibc's own
# adjustment raises its mmap threshold to 3 MB and its trim threshold to 6 MB, so the 12 MB
# freed at the heap's top go back to the kernel after every step.
STEPS = """
import resource, sys
import numpy as np
from symgraph.backends import heap
print(heap.tune())
np.ones(1 << 18).sum()
def step():
    arrays = [np.ones(3 << 18, np.float32) for _ in range(4)]
    return sum(float(a[-1]) for a in arrays)
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def _faults_per_step(**env):
    out = subprocess.run([sys.executable, "-c", STEPS], env={**os.environ, **env}, capture_output=True,
                         text=True, check=True).stdout.split()
    return out[0] == "True", float(out[1])


def test_a_steps_large_arrays_are_reused_once_tuned():
    tuned, faults = _faults_per_step()
    assert tuned
    assert faults < 50  # 12 MB of fresh 4 KiB pages would be ~3000


def test_without_it_every_step_faults_its_pages_in_again():
    tuned, faults = _faults_per_step(SYMGRAPH_TUNE_HEAP="0")
    assert not tuned
    assert faults > 1000


def test_the_users_own_malloc_settings_are_left_alone():
    tuned, _ = _faults_per_step(MALLOC_TRIM_THRESHOLD_="131072")
    assert not tuned
