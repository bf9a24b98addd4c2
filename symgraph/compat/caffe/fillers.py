"""Caffe's fillers (filler.hpp): the initial values of a layer's parameter blobs, drawn as Caffe
draws them (fan-in = count / shape[0], fan-out = count / shape[1])."""
import numpy as np

from .layers import enum_name
from ..protobuf.text_format import Message

_rng = np.random.default_rng()


def set_random_seed(seed):
    """caffe.set_random_seed: the fillers' (and a solver's) draws start from `seed`."""
    global _rng
    _rng = np.random.default_rng(seed)


def draw_seed():
    """A seed for a net's random stream (Dropout's masks), drawn from the fillers' generator so
    that caffe.set_random_seed (or a solver's random_seed) fixes the masks too."""
    return int(_rng.integers(2 ** 31))


def fill(shape, filler, default):
    """An array of `shape` by `filler` (a FillerParameter Message, or None for the layer's
    default: "constant" (zeros) or ("constant", value))."""
    if filler is None or not isinstance(filler, Message):
        kind, value = (default, 0.0) if isinstance(default, str) else default
        filler = Message(type=kind, value=value)
    kind = str(filler.get("type", "constant"))
    count = int(np.prod(shape))
    if kind not in _FILLERS:
        raise ValueError(f"unknown filler type {kind!r} (Caffe's: {', '.join(sorted(_FILLERS))})")
    return np.asarray(_FILLERS[kind](shape, filler, count), dtype=np.float32).reshape(shape)


def _fans(shape, count):
    fan_in = count // shape[0] if shape and shape[0] else count
    fan_out = count // shape[1] if len(shape) > 1 and shape[1] else count
    return fan_in, fan_out


def _norm(shape, filler, count):
    fan_in, fan_out = _fans(shape, count)
    mode = enum_name(filler.get("variance_norm", "FAN_IN"), ["FAN_IN", "FAN_OUT", "AVERAGE"])
    return {"FAN_IN": fan_in, "FAN_OUT": fan_out, "AVERAGE": (fan_in + fan_out) / 2.0}[mode]


def _constant(shape, filler, count):
    return np.full(shape, float(filler.get("value", 0.0)))


def _uniform(shape, filler, count):
    return _rng.uniform(float(filler.get("min", 0.0)), float(filler.get("max", 1.0)), size=shape)


def _gaussian(shape, filler, count):
    values = _rng.normal(float(filler.get("mean", 0.0)), float(filler.get("std", 1.0)), size=shape)
    sparse = int(filler.get("sparse", -1))
    if sparse >= 0:  # each weight kept with probability sparse / outputs (Caffe's sparse Gaussian)
        values = values * (_rng.random(shape) < sparse / shape[0])
    return values


def _positive_unitball(shape, filler, count):
    values = _rng.uniform(0, 1, size=(shape[0], count // shape[0]))
    return values / values.sum(axis=1, keepdims=True)


def _xavier(shape, filler, count):
    limit = np.sqrt(3.0 / _norm(shape, filler, count))
    return _rng.uniform(-limit, limit, size=shape)


def _msra(shape, filler, count):
    return _rng.normal(0.0, np.sqrt(2.0 / _norm(shape, filler, count)), size=shape)


def _bilinear(shape, filler, count):
    """The weights of bilinear upsampling (for a Deconvolution of stride f and kernel 2f - f % 2)."""
    if len(shape) != 4 or shape[2] != shape[3]:
        raise ValueError(f"the bilinear filler needs square 4-d weights, got shape {shape}")
    k = shape[3]
    f = np.ceil(k / 2.0)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    line = 1 - np.abs(np.arange(k) / f - c)
    return np.broadcast_to(np.outer(line, line), shape)


_FILLERS = {"constant": _constant, "uniform": _uniform, "gaussian": _gaussian,
            "positive_unitball": _positive_unitball, "xavier": _xavier, "msra": _msra, "bilinear": _bilinear}
