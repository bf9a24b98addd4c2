"""Theano's In and Out: an input with a default value (and a name to pass it by), an output
marked borrowable. `f = sg.function([x, sg.In(y, value=1.0)], x + y)`: f(2.0) is 3.0,
f(2.0, y=5.0) is 7.0."""
from .graph import Variable

_MISSING = object()


class In:
    """An input of sg.function: variable, its default value, the name it is passed by."""

    def __init__(self, variable, name=None, value=_MISSING, update=None, mutable=False, borrow=False,
                 strict=False, allow_downcast=None, implicit=False):
        if not isinstance(variable, Variable):
            raise TypeError(f"In takes a symbolic variable, got {variable!r}")
        if update is not None:
            raise NotImplementedError("In(update=...): keep the state in a shared variable (sg.shared) and give "
                                      "the function updates=")
        self.variable, self.name, self.value = variable, name, value


class Out:
    """An output of sg.function (borrow accepted: outputs are the caller's own either way)."""

    def __init__(self, variable, borrow=False):
        self.variable, self.borrow = variable, borrow


def unwrapped_inputs(inputs):
    """(the variables, {position: default value}, {position: name}) of inputs that may be In's."""
    variables, defaults, names = [], {}, {}
    for k, item in enumerate(inputs):
        if isinstance(item, In):
            variables.append(item.variable)
            if item.value is not _MISSING:
                defaults[k] = item.value
            if item.name is not None:
                names[k] = item.name
        else:
            variables.append(item)
    return variables, defaults, names


def unwrapped_outputs(outputs):
    if isinstance(outputs, Out):
        return outputs.variable
    if isinstance(outputs, (list, tuple)):
        return type(outputs)(o.variable if isinstance(o, Out) else o for o in outputs)
    return outputs


def completed(args, kwargs, n, by_name, defaults, label, inputs):
    """The arguments of a call, one a position: those given, then those named, then the
    defaults; a TypeError naming any input still missing."""
    values = list(args) + [_MISSING] * (n - len(args))
    if len(values) > n:
        raise TypeError(f"{label} takes {n} arguments, got {len(args)}")
    for key, value in kwargs.items():
        if key not in by_name:
            raise TypeError(f"{label} has no input named {key!r}")
        if values[by_name[key]] is not _MISSING:
            raise TypeError(f"{label} got two values for input {key!r}")
        values[by_name[key]] = value
    for k, value in defaults.items():
        if values[k] is _MISSING:
            values[k] = value
    missing = [inputs[k].describe() for k, v in enumerate(values) if v is _MISSING]
    if missing:
        raise TypeError(f"{label}: no value for {', '.join(missing)}")
    return values
