"""Looking things up by name, the way Keras takes "relu", "adam" or "mse" for objects."""


def lookup(table, value, kind):
    """table[value], or value itself when it is already callable; a clear error otherwise."""
    if callable(value):
        return value
    try:
        return table[value]
    except (KeyError, TypeError):
        names = sorted(k for k in table if isinstance(k, str))
        raise ValueError(f"unknown {kind} {value!r}; choose from {names} or pass a function") from None
