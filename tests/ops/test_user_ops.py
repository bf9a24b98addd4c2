"""Ops users write: Theano's "Extending Theano" forms (an sg.Op subclass with perform(node,
inputs, output_storage), grad(inputs, output_grads) or L_op, infer_shape(fgraph, node,
shapes), outputs made by x.type()) and as_op, on both backends, against NumPy and finite
differences, with their errors."""
import warnings

import numpy as np
import pytest

import symgraph as sg

BACKENDS = ["numpy", "numba"]


def function(inputs, outputs, backend, **kw):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "numba backend: no kernel")  # (a user op runs its perform)
        return sg.function(inputs, outputs, backend=backend, **kw)


class DoubleOp(sg.Op):
    """Theano's tutorial op, as written there."""
    __props__ = ()
    performed = 0

    def make_node(self, x):
        x = sg.as_tensor_variable(x)
        return sg.Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        DoubleOp.performed += 1
        x = inputs[0]
        z = output_storage[0]
        z[0] = x * 2

    def infer_shape(self, fgraph, node, i0_shapes):
        return i0_shapes

    def grad(self, inputs, output_grads):
        return [output_grads[0] * 2]


class ScaledSumAndCount(sg.Op):
    """Two outputs, a float and an int input, Theano's L_op, an undefined gradient for the int."""
    __props__ = ("scale",)

    def __init__(self, scale):
        self.scale = scale

    def make_node(self, x, n):
        x, n = sg.as_tensor_variable(x), sg.as_tensor_variable(n)
        return sg.Apply(self, [x, n], [sg.TensorType(x.dtype, ())(), sg.TensorType("int64", ())()])

    def perform(self, node, inputs, output_storage):
        x, n = inputs
        output_storage[0][0] = np.asarray(self.scale * n * x.sum(), x.dtype)
        output_storage[1][0] = x.size  # (a Python int for an int64 output: made an array)

    def L_op(self, inputs, outputs, output_grads):
        x, n = inputs
        return [output_grads[0] * self.scale * n * sg.ones_like(x), sg.gradient.grad_undefined(self, 1, n)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_theanos_tutorial_op_runs_differentiates_and_gives_its_shape_without_running(backend, rng):
    x = sg.dmatrix("x")
    y = DoubleOp()(x)
    xv = rng.normal(size=(3, 4))
    f = function([x], [y, sg.grad((y ** 2).sum(), x)], backend)
    got, slope = f(xv)
    np.testing.assert_allclose(got, 2 * xv, rtol=1e-15)
    np.testing.assert_allclose(slope, 8 * xv, rtol=1e-15)
    sg.verify_grad(lambda v: (DoubleOp()(v) ** 3).sum(), [xv], rng=rng)
    before = DoubleOp.performed
    np.testing.assert_array_equal(function([x], y.shape, backend)(xv), [3, 4])
    assert DoubleOp.performed == before  # (infer_shape: the op not run for its shape)
    assert "DoubleOp" in sg.debugprint(y, file="str") and "DoubleOp" in sg.to_dot(y).source


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_outputs_l_op_and_an_undefined_gradient_said_only_where_needed(backend, rng):
    x, n = sg.dvector("x"), sg.lscalar("n")
    total, count = ScaledSumAndCount(0.5)(x, n)
    assert count.dtype == "int64"
    xv = rng.normal(size=5)
    got = function([x, n], [total, count, sg.grad(total * 3, x)], backend)(xv, 4)
    np.testing.assert_allclose(got[0], 0.5 * 4 * xv.sum(), rtol=1e-14)
    assert got[1] == 5 and got[1].dtype == np.int64
    np.testing.assert_allclose(got[2], np.full(5, 0.5 * 4 * 3), rtol=1e-14)
    # The undefined gradient is of an int input: grad of a float wrt to n's float form raises.
    m = sg.dscalar("m")
    total_m, _ = ScaledSumAndCount(0.5)(x, m)
    with pytest.raises(sg.gradient.NullTypeGradError,
                       match=r"gradient of ScaledSumAndCount\{0.5\}'s input 1 .*'m'.* is undefined"):
        sg.grad(total_m, m)
    assert sg.grad(total_m, x) is not None  # (x's own is defined)


class Halves(sg.Op):
    __props__ = ()

    def make_node(self, x):
        return sg.Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0].astype("float64") / 2  # (float64 for a float32 output: an error)


def test_a_user_ops_wrong_outputs_are_named_and_nothing_is_lost():
    x = sg.fvector("x")
    counter = sg.shared(np.int64(0), "counter")
    f = function([x], Halves()(x), "numpy", updates={counter: counter + 1})
    with pytest.raises(TypeError, match=r"Halves: perform made a float64 array for output 0, declared float32\[\?\]"):
        f(np.ones(3, "float32"))
    assert counter.get_value() == 0  # (the failed call left the shared variable)

    class Forgets(Halves):
        def perform(self, node, inputs, output_storage):
            pass
    with pytest.raises(ValueError, match="Forgets: perform stored nothing for output 0"):
        function([x], Forgets()(x), "numpy")(np.ones(3, "float32"))

    class TwoWanted(sg.Op):
        def make_node(self, x):
            return sg.Apply(self, [x], [x.type(), x.type()])

        def grad(self, inputs, output_grads):
            return [output_grads[0], output_grads[1]]
    with pytest.raises(ValueError, match="TwoWanted's grad gave 2 gradients for its 1 inputs"):
        sg.grad(TwoWanted()(x)[0].sum(), x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_as_op_makes_an_op_of_a_python_function(backend, rng):
    @sg.as_op(itypes=[sg.dmatrix], otypes=[sg.dvector])
    def row_norms(m):
        return np.sqrt((m ** 2).sum(axis=1))

    @sg.as_op(itypes=[sg.dvector, sg.lscalar], otypes=[sg.dvector, sg.lvector])
    def top(v, k):
        order = np.argsort(-v)[:k]
        return v[order], order

    x, k = sg.dmatrix("x"), sg.lscalar("k")
    values, where = top(row_norms(x) * 2, k)
    xv = rng.normal(size=(6, 3))
    got = function([x, k], [values, where], backend)(xv, 2)
    norms = 2 * np.linalg.norm(xv, axis=1)
    np.testing.assert_array_equal(got[1], np.argsort(-norms)[:2])
    np.testing.assert_allclose(got[0], np.sort(norms)[::-1][:2], rtol=1e-14)
    assert str(row_norms) == "FromFunctionOp{row_norms}" and "row_norms" in sg.debugprint(values, file="str")
    with pytest.raises(TypeError, match=r"row_norms: input 0 must be float64\[\?,\?\] \(its itypes\), got 'v'"):
        row_norms(sg.fmatrix("v"))
    with pytest.raises(TypeError, match="row_norms takes 1 inputs"):
        row_norms(x, x)
    with pytest.raises(NotImplementedError, match="has no gradient"):  # (as Theano's as_op)
        sg.grad(row_norms(x).sum(), x)

    @sg.as_op(itypes=[sg.dvector], otypes=[sg.dvector, sg.dvector])
    def one_of_two(v):
        return v
    v = sg.dvector("v")
    with pytest.raises(ValueError, match="one_of_two returned ndarray, where its otypes say 2 outputs"):
        function([v], one_of_two(v), backend)(np.ones(2))
    with pytest.raises(TypeError, match="itypes must be types"):
        sg.as_op(itypes=["float64"], otypes=[sg.dvector])
