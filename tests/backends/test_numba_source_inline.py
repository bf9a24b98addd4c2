"""numba_source_inline: numba_vecmath's inline functions written out as statements give the
bits the functions give, and what cannot be written out is refused."""
import numpy as np
import pytest

from symgraph.backends import numba_codegen, numba_source_inline, numba_vecmath
from symgraph.backends.numba_source_inline import inline_source

_FUNCTIONS = ["exp32", "exp64", "tanh32", "tanh64", "sigmoid32", "sigmoid64", "log32", "log64", "log1p32", "sin32"]


def _extremes(dtype, rng):
    info = np.finfo(dtype)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, info.tiny, -info.tiny, info.max, -info.max, 1e-30, 88.7, -103.9,
               709.7, -745.0, 0.5, -0.5, 9.0, 3.81, 0.2242]
    return np.concatenate([np.array(special, dtype), (rng.standard_normal(4000) * 30).astype(dtype),
                           rng.standard_normal(1000).astype(dtype)])


@pytest.mark.parametrize("name", _FUNCTIONS)
def test_written_out_functions_give_the_functions_bits(name, rng):
    lines, result = inline_source(getattr(numba_vecmath, name), ["x[i]"], "f")
    body = "".join("        " + line + "\n" for line in lines)
    kernel = numba_codegen.compile_source(
        "@njit(cache=True, error_model='numpy')\n"
        "def kernel(x, written, called):\n"
        "    for i in range(x.shape[0]):\n"
        f"{body}"
        f"        written[i] = {result}\n"
        f"        called[i] = inlined.{name}(x[i])\n")
    dtype = "float32" if name.endswith("32") else "float64"
    x = _extremes(dtype, rng)
    written, called = np.empty_like(x), np.empty_like(x)
    kernel(x, written, called)
    np.testing.assert_array_equal(written.view(f"u{x.itemsize}"), called.view(f"u{x.itemsize}"))


def test_local_names_are_scoped_and_module_names_read_from_the_header(rng):
    lines, result = inline_source(numba_vecmath.exp32, ["x[i]"], "p")
    text = "\n".join(lines)
    assert result.startswith("p") and "inlined._P" in text and "inlined._muladd(" in text
    assert "_clamped(" not in text and "_split_ln2_bits32(" not in text  # (written out, not called)
    assert lines[0] == "p0_x = x[i]"


def _early(x):
    if x > 0:
        return x
    return -x


def test_what_cannot_be_written_out_is_refused():
    from numba import njit
    with pytest.raises(ValueError, match="numba_vecmath"):  # (its module names could not be read)
        inline_source(njit(inline="always")(_early), ["x"], "p")
    with pytest.raises(ValueError, match="return once"):
        numba_source_inline._definition(_early)


def test_a_functions_source_is_found_as_inspect_finds_it():
    """_function_source reads a function's lines by indentation, not with inspect's tokenizer
    (4 ms of a warm start's first row kernel): the same syntax tree for every inline function."""
    import ast
    import inspect
    import textwrap
    found = 0
    for name in dir(numba_vecmath):
        definition = numba_source_inline._inline_definition(getattr(numba_vecmath, name))
        if definition is not None:
            want = ast.dump(ast.parse(textwrap.dedent(inspect.getsource(definition))))
            assert ast.dump(ast.parse(numba_source_inline._function_source(definition))) == want, name
            found += 1
    assert found > 40


def _looped(x):
    p = x
    for c in (1.0, 2.0):
        p = _clamped(p, c, c)  # noqa: F821 - numba_vecmath's, as the writer reads names
    return p


def test_an_inline_call_inside_a_loop_is_refused():
    """A call's statements go before the statement using it: inside a loop they would leave it
    (computed once, from the loop variable's value before the loop)."""
    parameters, statements, _ = numba_source_inline._definition(_looped)
    with pytest.raises(ValueError, match="inside a loop"):
        numba_source_inline._Writer("p")._statement(statements[1], {*parameters, "p", "c"}, "p0_")
