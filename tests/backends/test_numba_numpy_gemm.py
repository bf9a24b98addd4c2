"""numba_numpy_gemm: matrix products in compiled code through NumPy's own OpenBLAS (its cblas
gemm reached by a registered symbol): np.dot's values, dtypes and shapes for every layout."""
import numpy as np
import pytest
from numba import njit

from symgraph.backends import numba_numpy_gemm

pytestmark = pytest.mark.skipif(numba_numpy_gemm.DOT is None, reason="NumPy's BLAS is no OpenBLAS found here")


def layouts(x):
    """x as C-ordered, Fortran-ordered, strided both ways (copied before the call), and a
    transposed view."""
    strided = np.repeat(np.repeat(x, 2, axis=0), 2, axis=1)[::2, ::2]
    return [x, np.asfortranarray(x), strided, np.ascontiguousarray(x.T).T]


# (left, right) indices into layouts(): BLAS's four transpose flags (C and F both ways, a
# transposed view with each), and a copied operand on either side. numba compiles a product
# for each pair of array types (C, F, A): these take six of the nine, 2.5 s each in a fresh
# checkout.
LAYOUT_PAIRS = [(0, 0), (0, 1), (1, 0), (1, 1), (3, 3), (3, 0), (2, 0), (0, 2)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("m, k, n", [(3, 4, 5), (128, 128, 128), (1, 7, 3), (7, 1, 3), (0, 3, 4), (3, 0, 4), (4, 3, 0)])
@pytest.mark.exhaustive
def test_products_give_np_dots_values_for_each_transpose_and_a_copied_operand(dtype, m, k, n, rng):
    a, b = rng.normal(size=(m, k)).astype(dtype), rng.normal(size=(k, n)).astype(dtype)
    want = a @ b
    rtol = 1e-5 if dtype == "float32" else 1e-12
    for i, j in LAYOUT_PAIRS:
        got = numba_numpy_gemm.numpy_dot(layouts(a)[i], layouts(b)[j])
        assert got.dtype == want.dtype and got.shape == want.shape and got.flags.c_contiguous
        # (128x128x128 runs on OpenBLAS's threads: a copy released before the call read freed memory)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_a_vector_and_a_matrix_either_way_round(dtype, rng):
    v, m = rng.normal(size=6).astype(dtype), rng.normal(size=(6, 4)).astype(dtype)
    for got, want in ((numba_numpy_gemm.numpy_dot(v, m), v @ m), (numba_numpy_gemm.numpy_dot(m.T, v), m.T @ v),
                      (numba_numpy_gemm.numpy_dot(v[::2], m[::2]), v[::2] @ m[::2])):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_products_into_runs_of_rows_and_other_outputs(dtype, rng):
    """numpy_dot_into(a, b, out), numba_conv's kernels' call: out a run of rows of a C-ordered
    buffer (only those rows written), a column of one, a strided block and reversed rows
    (written from a new array, nothing outside out), and products with no inner dimension
    (zeros) or no rows; operands in every layout."""
    a, b = rng.normal(size=(5, 4)).astype(dtype), rng.normal(size=(4, 3)).astype(dtype)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    for left in layouts(a):
        for right in layouts(b):
            buffer = np.full((9, 3), 7.0, dtype)
            numba_numpy_gemm.numpy_dot_into(left, right, buffer[2:7])
            np.testing.assert_allclose(buffer[2:7], a @ b, rtol=rtol, atol=rtol)
            assert (buffer[:2] == 7).all() and (buffer[7:] == 7).all()
    wide = np.full((5, 6), 7.0, dtype)
    numba_numpy_gemm.numpy_dot_into(a, b[:, :1], wide[:, 4:5])  # a column: rows 6 apart
    numba_numpy_gemm.numpy_dot_into(a, b, wide[:, ::2])  # every other column
    np.testing.assert_allclose(wide[:, 4], (a @ b)[:, 2], rtol=rtol, atol=rtol)  # (overwritten by the second)
    np.testing.assert_allclose(wide[:, ::2], a @ b, rtol=rtol, atol=rtol)
    assert (wide[:, 1::2] == 7).all()
    guarded = np.full((9, 3), 7.0, dtype)  # rows in reverse order: not BLAS's leading dimension
    numba_numpy_gemm.numpy_dot_into(a, b, guarded[6:1:-1])
    np.testing.assert_allclose(guarded[6:1:-1], a @ b, rtol=rtol, atol=rtol)
    assert (guarded[:2] == 7).all() and (guarded[7:] == 7).all()
    out = np.full((5, 3), 7.0, dtype)
    numba_numpy_gemm.numpy_dot_into(a[:, :0], b[:0], out)
    assert (out == 0).all()
    numba_numpy_gemm.numpy_dot_into(a[:0], b, out[:0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.exhaustive
def test_gemm_into_takes_rows_or_columns_in_place_and_refuses_other_layouts(dtype, rng):
    """gemm_into(a, b, out), numba_conv's kernels' and the split products' call: operands C- or
    Fortran-ordered, runs of rows, a slice of columns, their transposes (no copy), into a run
    of rows of a buffer (only those rows written); no inner dimension gives zeros, no rows
    nothing; an operand strided both ways, or an output whose rows are not contiguous, raises
    (numpy_dot_into copies those) with the buffer untouched."""
    a, b = rng.normal(size=(5, 4)).astype(dtype), rng.normal(size=(4, 3)).astype(dtype)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    big_a, big_b = rng.normal(size=(8, 9)).astype(dtype), rng.normal(size=(9, 7)).astype(dtype)
    lefts = [a, np.asfortranarray(a), big_a[1:6, 2:6], np.ascontiguousarray(big_a[2:6, 1:6].T)]
    rights = [b, np.asfortranarray(b), big_b[3:7, 1:4], np.ascontiguousarray(big_b[1:4, 2:6].T)]
    for left in lefts:
        for right in rights:
            buffer = np.full((9, 3), 7.0, dtype)
            numba_numpy_gemm.gemm_into(left, right, buffer[2:7])
            np.testing.assert_allclose(buffer[2:7], left @ right, rtol=rtol, atol=rtol)
            assert (buffer[:2] == 7).all() and (buffer[7:] == 7).all()
    out = np.full((5, 3), 7.0, dtype)
    numba_numpy_gemm.gemm_into(a[:, :0], b[:0], out)
    assert (out == 0).all()
    numba_numpy_gemm.gemm_into(a[:0], b, out[:0])
    strided = np.repeat(np.repeat(a, 2, axis=0), 2, axis=1)[::2, ::2]
    wide = np.full((5, 6), 7.0, dtype)
    for left, right, into in ((strided, b, out), (a, b, wide[:, ::2]), (a, b, np.full((9, 3), 7.0, dtype)[6:1:-1])):
        before = into.copy()
        with pytest.raises(ValueError, match="not contiguous"):
            numba_numpy_gemm.gemm_into(left, right, into)
        np.testing.assert_array_equal(into, before)


def test_a_product_written_through_a_new_array_copies_it_without_numbas_slice_assignment(rng):
    """numpy_dot_into's output of reversed rows takes the product into a new array, copied row by
    row: numba's `out[:] = rows` compiled its shape-mismatch message (string formatting) into
    numpy_dot, whose first compile in a process took 5.5 s, not 1.5."""
    a, b = rng.normal(size=(5, 4)), rng.normal(size=(4, 3))
    out = np.zeros((5, 3))
    numba_numpy_gemm.numpy_dot_into(a, b, out[::-1])
    np.testing.assert_allclose(out[::-1], a @ b, rtol=1e-12)
    fresh = njit(numba_numpy_gemm.numpy_dot_into.py_func)  # (compiled here, not loaded: its IR kept)
    fresh(a, b, out[::-1])
    assert "raise_with_shape_context" not in "".join(fresh.inspect_llvm().values())
