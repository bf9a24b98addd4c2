"""The vectorizable float32 exp/tanh/sigmoid against NumPy in float64: at most 2 ulp over the
whole float32 range, with NumPy's answers at 0, -0, +-inf, NaN and the overflow edges."""
import numpy as np
import pytest
from numba import njit

from symgraph.backends.numba_vecmath import exp32, tanh32, sigmoid32

import symgraph as sg


@njit
def _apply_exp(a, out):
    for i in range(a.shape[0]):
        out[i] = exp32(a[i])


@njit
def _apply_tanh(a, out):
    for i in range(a.shape[0]):
        out[i] = tanh32(a[i])


@njit
def _apply_sigmoid(a, out):
    for i in range(a.shape[0]):
        out[i] = sigmoid32(a[i])


SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 1e-8, 88.72, 88.73, -87.3,
                     -103.9, -104.5, 1e30, -1e30], np.float32)
CASES = [(_apply_exp, np.exp), (_apply_tanh, np.tanh), (_apply_sigmoid, lambda v: 1 / (1 + np.exp(-v)))]


@pytest.mark.parametrize("kernel,reference", CASES)
def test_within_two_ulp_everywhere(kernel, reference):
    x = np.concatenate([np.linspace(-110, 95, 400_001, dtype=np.float32),
                        np.geomspace(1e-6, 1, 20_001).astype(np.float32), SPECIALS])
    out = np.empty_like(x)
    kernel(x, out)
    with np.errstate(all="ignore"):
        want = reference(x.astype(np.float64)).astype(np.float32)
    normal = np.isfinite(want) & (np.abs(want) >= np.finfo(np.float32).tiny)
    ulp = np.abs(out[normal].astype(np.float64) - want[normal]) / np.spacing(np.abs(want[normal])).astype(np.float64)
    assert ulp.max() <= 2.0
    special = ~normal
    np.testing.assert_allclose(out[special], want[special], atol=np.finfo(np.float32).tiny * 4)
    assert np.array_equal(np.signbit(out[x == 0]), np.signbit(want[x == 0])) or kernel is _apply_sigmoid


def test_fused_float32_loops_use_them_and_match_numpy(rng):
    from symgraph.backends import numba_codegen
    x = sg.fvector("x")
    f = sg.function([x], sg.tanh(x) * sg.nn.sigmoid(x) + sg.exp(-x * x))
    node = f.fgraph.apply_nodes[0]
    source = numba_codegen._flat_source(node.op, ("float32",), (False,), False)
    assert "tanh32(" in source and "sigmoid32(" in source and "exp32(" in source
    assert "np.exp(" not in source and "np.tanh(" not in source
    xv = rng.standard_normal(1000).astype("float32") * 10
    np.testing.assert_allclose(f(xv), np.tanh(xv) * (1 / (1 + np.exp(-xv))) + np.exp(-xv * xv), rtol=2e-6, atol=1e-7)
