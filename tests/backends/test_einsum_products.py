"""A two-operand einsum on the numba backend as one (batched) product (einsum_products):
NumPy's values and dtype for every way letters fall (batch, left, contracted, right, in any
order and transposed), without np.einsum's contraction path; outer products and dots of rows
by NumPy's plain einsum; other einsums (a letter summed in one operand, three operands,
lengths broadcast, integers) by the op's perform."""
import numpy as np
import pytest

import symgraph as sg
from symgraph.backends import numba_cpu
from symgraph.backends.einsum_products import ProductEinsum
from symgraph.ops.einsum import Einsum
from tests.conftest import executor_globals

LENGTHS = dict(b=3, h=2, i=5, j=7, k=4, l=6, q=8, d=9)

PRODUCTS = ["ij,jk->ik", "ij,jk->ki", "ji,jk->ik", "ij,kj->ik", "bij,bjk->bik", "bij,bkj->bik", "bji,bjk->kbi",
            "bhqd,bhkd->bhqk", "ijk,jl->ilk", "jik,lj->kli", "kij,ji->k", "i,ij->j", "ij,j->i", "jb,bjk->kb"]
PLAIN = ["ij,ij->i", "ij,ij->", "i,i->", "i,j->ij", "bi,bj->bij", "ij,ij->ji", "i,j->ji"]


def _operands(spec, dtype, rng, lengths=LENGTHS):
    subs = spec.split("->")[0].split(",")
    return [rng.normal(size=[lengths[c] for c in s]).astype(dtype) for s in subs]


def _function(spec, values, optimize=True):
    symbols = [sg.tensor(f"x{i}", dtype=v.dtype.name, ndim=v.ndim) for i, v in enumerate(values)]
    return sg.function(symbols, sg.einsum(spec, *symbols), backend="numba", optimize=optimize)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_products_and_plain_sums_give_numpys_values_without_the_ops_perform(dtype, rng, monkeypatch):
    def refused(*args):
        raise AssertionError("Einsum.perform ran")
    monkeypatch.setattr(Einsum, "perform", refused)  # (np.einsum(optimize=True): its path each call)
    products, multiply = [], numba_cpu.stack_product

    def recorded(a, b, dtype):  # (the products the einsums run: none for the plain ones)
        products.append(dtype)
        return multiply(a, b, dtype)
    monkeypatch.setattr(numba_cpu, "stack_product", recorded)
    for spec in PRODUCTS + PLAIN:
        products.clear()
        values = _operands(spec, dtype, rng)
        # (the plain ones as the Einsum node: the optimized graph has their product and sum instead)
        f = _function(spec, values, optimize="fast_compile" if spec in PLAIN else True)
        assert any(isinstance(node.op, Einsum) for node in f.fgraph.apply_nodes), spec
        got, want = f(*values), np.einsum(spec, *values)
        np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-5, err_msg=spec)
        assert got.dtype == want.dtype and got.shape == want.shape, spec
        assert ProductEinsum.of(*Einsum_parts(spec)).plain == (spec in PLAIN) == (not products), spec


def Einsum_parts(spec):
    inputs, output = spec.split("->")
    return tuple(inputs.split(",")), output


def test_results_are_the_callers_to_keep_and_change(rng):
    """A product's result is a new array; changing it changes no input and no later result."""
    a, b = _operands("ij,jk->ik", "float32", rng)
    f = _function("ij,jk->ik", [a, b])
    first = f(a, b)
    want = a @ b
    first[...] = 0
    np.testing.assert_allclose(f(a, b), want, rtol=1e-5)
    # (the node's own result is a new array, not a view of one, which Function._own would copy)
    assert executor_globals(f)["t0"]([a, b])[0].base is None


def test_zero_lengths_give_numpys_empty_or_zero_results(rng):
    for spec, lengths in [("ij,jk->ik", dict(i=0, j=3, k=2)), ("ij,jk->ik", dict(i=2, j=0, k=3)),
                          ("bij,bjk->bik", dict(b=0, i=2, j=3, k=4))]:
        values = _operands(spec, "float32", rng, lengths)
        got, want = _function(spec, values)(*values), np.einsum(spec, *values)
        np.testing.assert_array_equal(got, want)
        assert got.shape == want.shape


def test_other_einsums_run_the_ops_perform(rng, monkeypatch):
    """A letter summed in one operand, three operands, a length 1 broadcast against another
    (NumPy's einsum broadcasts it), integers and mixed float dtypes: the op's perform (NumPy's einsum), NumPy's values."""
    calls = []
    perform = Einsum.perform

    def counted(self, node, inputs):
        calls.append(str(self))
        return perform(self, node, inputs)
    monkeypatch.setattr(Einsum, "perform", counted)
    cases = [("ij,kl->ik", [(5, 7), (4, 6)], "float32"), ("ij,jk,kl->il", [(5, 7), (7, 4), (4, 6)], "float32"),
             ("ij,jk->ik", [(5, 1), (7, 4)], "float32"), ("ij,jk->ik", [(5, 7), (7, 4)], "int64"),
             ("ij,jk->ik", [(5, 7), (7, 4)], ("float32", "float64"))]
    for spec, shapes, dtypes in cases:
        dtypes = dtypes if isinstance(dtypes, tuple) else (dtypes,) * len(shapes)
        values = [rng.integers(-3, 4, size=s).astype(d) for s, d in zip(shapes, dtypes)]
        got, want = _function(spec, values)(*values), np.einsum(spec, *values)
        np.testing.assert_allclose(got, want, err_msg=spec)
        assert got.dtype == want.dtype, spec
    assert len(calls) == len(cases)  # (each ran the op's perform once: the first call)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_einsums_without_a_matrix_product_become_a_product_and_a_sum(backend, rng):
    """specialize's einsum_without_a_matrix_product: the optimized graph has no Einsum node
    (one fused loop instead), NumPy's values, a length-1 axis broadcast as np.einsum's, and
    gradients through it match finite differences; a matrix product and integers keep theirs."""
    for spec, sa, sb in [("ij,ij->i", (6, 5), (6, 5)), ("ij,ij->", (6, 5), (6, 5)), ("i,j->ij", (6,), (5,)),
                         ("bi,bj->bij", (3, 6), (3, 5)), ("ij,ij->ji", (6, 5), (6, 5)), ("ij,ij->i", (6, 5), (1, 5)),
                         ("ijk,ikj->i", (3, 4, 5), (3, 5, 4))]:
        a, b = rng.normal(size=sa), rng.normal(size=sb)
        x, y = sg.tensor("x", "float64", (None,) * len(sa)), sg.tensor("y", "float64", (None,) * len(sb))
        f = sg.function([x, y], sg.einsum(spec, x, y), backend=backend)
        np.testing.assert_allclose(f(a, b), np.einsum(spec, a, b), rtol=1e-12, atol=1e-12, err_msg=spec)
        assert not any(isinstance(node.op, Einsum) for node in f.fgraph.apply_nodes), spec
        sg.verify_grad(lambda u, v: sg.einsum(spec, u, v), [a, b], rng=np.random.default_rng(3), backend=backend)
    x, y = sg.dmatrix("x"), sg.dmatrix("y")
    assert any(isinstance(node.op, Einsum) for node in sg.function([x, y], sg.einsum("ij,jk->ik", x, y)).fgraph.apply_nodes)
    i, j = sg.lmatrix("i"), sg.lmatrix("j")
    assert any(isinstance(node.op, Einsum) for node in sg.function([i, j], sg.einsum("ij,ij->i", i, j)).fgraph.apply_nodes)
