"""Keras's data_format for the image layers: symgraph computes on NCHW images
("channels_first", its default), and a layer given data_format="channels_last" (or made after
K.set_image_data_format("channels_last"), as Keras with TensorFlow) takes and gives NHWC
images, transposed to NCHW around its computation. Between two such layers the transposes
meet and the rewriter removes them (a transpose of a transpose is nothing), so a channels_last
model computes as a channels_first one."""
from .. import keras_backend as K

FORMATS = ("channels_first", "channels_last")


def resolved(data_format):
    """The format a layer made now takes: its own, else the backend's (K.image_data_format())."""
    data_format = K.image_data_format() if data_format is None else data_format
    if data_format not in FORMATS:
        raise ValueError(f"data_format must be 'channels_first' or 'channels_last', got {data_format!r}")
    return data_format


class ImageLayer:
    """A layer over 4-d images (5-d volumes where image_ndim is 5) in either format: subclasses
    write `nchw_call` (channels first in and out, or a tensor of fewer axes, as a global
    pooling's (N, C))."""

    image_ndim = 4

    def __init__(self, *args, data_format=None, **kw):
        super().__init__(*args, **kw)
        self.data_format = resolved(data_format)

    def named_arguments(self):  # (saved: the format it was made with, given or the backend's)
        return {**super().named_arguments(), "data_format": self.data_format}

    @property
    def channel_axis(self):
        return 1 if self.data_format == "channels_first" else -1

    def _channels(self, input_shape):
        channels = input_shape[self.channel_axis]
        if channels is None:
            raise ValueError(f"{self.name}: the channel axis ({self.channel_axis % len(input_shape)}) must be known, "
                             f"got {input_shape}")
        return channels

    def call(self, x, context):
        if self.data_format == "channels_first":
            return self.nchw_call(x, context)
        n = self.image_ndim
        if x.ndim != n:
            raise ValueError(f"{self.name} takes {'(N, H, W, C) images' if n == 4 else '(N, D, H, W, C) volumes'} "
                             f"(channels_last), got {x.type}")
        out = self.nchw_call(x.dimshuffle(0, n - 1, *range(1, n - 1)), context)
        return out.dimshuffle(0, *range(2, n), 1) if out.ndim == n else out


def default_channel_axis(ndim, data_format):
    """A normalization's axis when none is given: the channels', as Keras's -1 is for its
    channels_last data: axis 1 of NCHW images where data_format is channels_first, else the
    last (the features of a matrix or of a sequence's steps)."""
    return 1 if ndim == 4 and data_format == "channels_first" else -1


def format_of_images(x, hops=32):
    """The data_format of the image layer that made x, a 4-d variable, through the layers after
    it that keep its layout (activations, dropout, additions: followed by their first input);
    None where no image layer made it (an Input, or a Permute or Reshape on the way)."""
    from .core import Permute, Reshape
    while x is not None and x.ndim == 4 and hops:
        history = getattr(x, "layer_history", None)
        if not history:
            return None
        layer, source = history
        if isinstance(layer, ImageLayer):
            return layer.data_format
        if isinstance(layer, (Permute, Reshape)):
            return None
        x, hops = (source[0] if isinstance(source, list) else source), hops - 1
    return None


class ChannelsOfItsImages:
    """A normalization whose default axis is the channels' of the images it is given: after a
    layer given data_format="channels_last" (NHWC), the last, whatever the backend's format."""

    def trace(self, x, context):
        if not self.built and self.axis is None:
            found = format_of_images(x[0] if isinstance(x, list) else x)
            if found is not None:
                self.data_format = found
        return super().trace(x, context)

