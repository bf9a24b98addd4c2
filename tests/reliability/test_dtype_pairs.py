"""Every binary elementwise op over pairs of dtypes, at each dtype's edge values (its minimum
and maximum, -1, 0, NaN, infinities, -0.0): the numba backend's values and dtypes against
NumPy's own ufuncs. A sweep of all 144 pairs found int64 min // int8 -1 (0, not the minimum),
bool // uint64 max and int64 < uint64 beyond 2^63 wrong, where the random fuzzers' values had
not reached; here a chosen 44 of them."""
import warnings

import numpy as np
import pytest

import symgraph as sg
from symgraph.ops.elemwise import TABLE, elemwise_op

DTYPES = ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
          "float16", "float32", "float64"]
# Each dtype with itself and with one five along; and both ways round, the pairs whose steps
# numba computes in a type of its own choosing (a signed integer with a uint64: float64; mixed
# widths and signs; bool with the widest; integers with floats narrower than them).
MIXED = [("int64", "uint64"), ("int8", "uint64"), ("int64", "int8"), ("bool", "uint64"), ("int32", "uint32"),
         ("int16", "uint16"), ("int64", "float16"), ("int32", "float32"), ("uint64", "float32"), ("bool", "int8")]
PAIRS = [(DTYPES[i], DTYPES[(i + shift) % len(DTYPES)]) for i in range(len(DTYPES)) for shift in (0, 5)]
PAIRS += MIXED + [(b, a) for a, b in MIXED]
BINARY = [name for name, op in TABLE.items() if op.nin == 2]
TOLERANCE = {2: 1e-3, 4: 2e-6, 8: 1e-13}  # (float16, 32, 64: SIMD math's ulps)


def edge_values(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.array([True, False])
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        wanted = [0, 1, 2, 3, 7, -1, -2, -7, info.min, info.max, info.min + 1, info.max - 1,
                  info.max // 2, info.max // 2 + 1]  # (a uint64's 2^63: beyond an int64)
        return np.array([v for v in wanted if info.min <= v <= info.max], dtype)
    info = np.finfo(dtype)
    return np.array([0.0, -0.0, 1.0, -1.0, 0.5, 2.5, -2.5, 3.0, 1e-3, np.inf, -np.inf, np.nan, info.max,
                     info.tiny, 100.0, -7.0], dtype)


def assert_as_numpy(name, got, want):
    assert got.dtype == want.dtype, name
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want, err_msg=name)
        return
    close = np.isclose(got.astype("float64"), want.astype("float64"), rtol=TOLERANCE[want.dtype.itemsize],
                       atol=0, equal_nan=True)
    close &= ~((want == 0) & (np.signbit(got) != np.signbit(want)))  # (zeros' signs too)
    assert close.all(), (name, got[~close][:4], want[~close][:4])


@pytest.mark.slow  # (a kernel of every op a pair: ~0.7 s a pair, 17 s on two cores)
@pytest.mark.parametrize("left,right", PAIRS)
def test_every_binary_op_at_the_edges_of_two_dtypes_is_numpys(left, right):
    a0, b0 = edge_values(left), edge_values(right)
    av, bv = np.repeat(a0, b0.size), np.tile(b0, a0.size)
    x, y = sg.tensor("x", left, (None,)), sg.tensor("y", right, (None,))
    names, outputs, wanted = [], [], []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for name in BINARY:
            try:
                out = elemwise_op(name)(x, y)  # (refused when the graph is built where NumPy has no loop)
                want = np.asarray(TABLE[name].impl(av, bv))
            except (TypeError, ValueError):  # (and NumPy's own refusals: an integer's negative power)
                continue
            names.append(name), outputs.append(out), wanted.append(want)
        got = sg.function([x, y], outputs, backend="numba")(av, bv)
    for name, g, w in zip(names, got, wanted):
        assert_as_numpy(name, g, w)
