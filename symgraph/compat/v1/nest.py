"""tf.nest: nested structures of tensors or arrays (lists, tuples, namedtuples such as
LSTMStateTuple, dicts by their keys' order), flattened to their leaves and packed back: how
tf.data's elements and the control-flow functions' loop variables and results are kept."""


def _is_namedtuple(value):
    return isinstance(value, tuple) and hasattr(value, "_fields")


def flatten(structure):
    """The leaves, depth first."""
    if isinstance(structure, (list, tuple)):
        return [leaf for part in structure for leaf in flatten(part)]
    if isinstance(structure, dict):
        return [leaf for key in structure for leaf in flatten(structure[key])]
    return [structure]


def pack_sequence_as(structure, flat_sequence):
    """structure's shape with flat_sequence's items as its leaves."""
    leaves = iter(flat_sequence)
    return map_structure(lambda _: next(leaves), structure)


def map_structure(fn, structure):
    """structure's shape with fn of each of its leaves."""
    if _is_namedtuple(structure):
        return type(structure)(*[map_structure(fn, part) for part in structure])
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, part) for part in structure)
    if isinstance(structure, dict):
        return type(structure)((key, map_structure(fn, value)) for key, value in structure.items())
    return fn(structure)


def flatten_with_packer(structure):
    """(the leaves, a function packing a list of new leaves in the structure's shape)."""
    return flatten(structure), lambda leaves: pack_sequence_as(structure, leaves)
