"""loop_parts.partial_values: a fused loop's values that vary along fewer axes than its output,
split off into parts (computed once each) and the rest (reading them as inputs)."""
import numpy as np

from symgraph.backends.loop_parts import partial_values
from symgraph.ops.composite import Composite
from symgraph.ops.elemwise import TABLE

ROW, COLUMN, WHOLE = frozenset({1}), frozenset({0}), frozenset({0, 1})


def composite():
    """Inputs: x (whole), r (a row), c (a column)."""
    program = [(TABLE["exp"], (("in", 1),), "float32"),                                  # 0: row
               (TABLE["mul"], (("tmp", 0), ("const", 2.0, "float32")), "float32"),      # 1: row, read by 4
               (TABLE["true_div"], (("in", 2), ("const", 3.0, "float32")), "float32"),   # 2: column, read by 4
               (TABLE["add"], (("in", 1), ("in", 1)), "float32"),                        # 3: row, cheap, read by 5
               (TABLE["add"], (("tmp", 1), ("tmp", 2)), "float32"),                      # 4: whole
               (TABLE["mul"], (("tmp", 4), ("tmp", 3)), "float32"),                      # 5: whole
               (TABLE["sqrt"], (("in", 1),), "float32"),                                 # 6: row, read by 7
               (TABLE["add"], (("tmp", 5), ("in", 0)), "float32"),                       # 7: whole
               (TABLE["sub"], (("tmp", 7), ("tmp", 6)), "float32")]                      # 8: whole
    return Composite(program, [8], 3)


def test_a_rows_and_a_columns_costly_values_are_parts_and_the_rest_reads_them():
    parts, rest = partial_values(composite(), [WHOLE, ROW, COLUMN], WHOLE)
    assert [(str(p), axes) for p, axes in parts] == [("Composite{mul(exp(i1), 2.0), sqrt(i1)}", ROW),
                                                     ("Composite{true_div(i2, 3.0)}", COLUMN)]
    assert [len(p.outputs) for p, _ in parts] == [2, 1] and rest.n_inputs == 6  # (x, r, c, then 3 parts' values)
    assert str(rest) == "Composite{sub(add(mul(add(i3, i5), add(i1, i1)), i0), i4)}"
    x, r, c = np.float32(0.5), np.float32(0.25), np.float32(3.0)
    split = [v for p, _ in parts for v in p.evaluate([x, r, c])]
    np.testing.assert_allclose(rest.evaluate([x, r, c, *split])[0], composite().evaluate([x, r, c])[0], rtol=1e-6)


def test_what_is_wanted_alone_is_split_and_nothing_where_every_value_varies_alike():
    parts, _ = partial_values(composite(), [WHOLE, ROW, COLUMN], WHOLE, lambda axes: 1 in axes)
    assert [axes for _, axes in parts] == [ROW]  # (the column's stays: a broadcast loop's levels keep it)
    whole = composite()
    assert partial_values(whole, [WHOLE, WHOLE, WHOLE], WHOLE) == ([], whole)


def test_an_output_that_varies_along_fewer_axes_stays_in_the_loop():
    """A step that is an output is computed in the loop, whatever it varies along."""
    program = [(TABLE["exp"], (("in", 1),), "float64"), (TABLE["add"], (("tmp", 0), ("in", 0)), "float64")]
    both = Composite(program, [1, 0], 2)
    assert partial_values(both, [WHOLE, ROW], WHOLE) == ([], both)
