"""ConvLSTM2D: Keras's LSTM whose products are convolutions, over sequences of images (video
frames): (batch, time, rows, cols, channels), or (batch, time, channels, rows, cols) with
data_format="channels_first".

The gates i, f, c, o (Keras's order along the kernels' last axis) of each step are the input
frame's convolution (strides, padding, dilation as given) plus the last output's (stride 1,
"same", so it keeps the state's size); c_t = f c_{t-1} + i activation(.), h_t = o activation(c_t).
The frames' convolutions are one convolution of all the steps at once, outside the scan; the
step computes only the recurrent one and the gates."""
from .. import activations
from ..ops import conv as C
from ..ops.scan import scan
from ..ops.shape import reshape, shape, zeros
from .base import Layer
from .conv import KERAS_KERNEL_AXES
from .image_format import resolved
from .recurrent import _TakesInitialStates, forget_gate_ones


class ConvLSTM2D(_TakesInitialStates, Layer):
    n_states = 2
    state_names = ("h", "c")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", unit_forget_bias=True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, **kw):
        super().__init__(**kw)
        if dropout or recurrent_dropout or stateful:
            raise NotImplementedError(f"{self.name}: dropout, recurrent_dropout and stateful are not supported; "
                                      f"put Dropout or SpatialDropout3D before the layer")
        self.filters, self.kernel_size = int(filters), C._pair(kernel_size, "kernel_size")
        self.strides, self.padding, self.dilation_rate = strides, padding, dilation_rate
        self.data_format = resolved(data_format)
        self.activation, self.recurrent_activation = activations.get(activation), activations.get(recurrent_activation)
        self.use_bias, self.unit_forget_bias = use_bias, bool(unit_forget_bias)
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer
        self.bias_initializer = bias_initializer
        self.regularizers = (kernel_regularizer, recurrent_regularizer, bias_regularizer)
        self.constraints = (kernel_constraint, recurrent_constraint, bias_constraint)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards = bool(go_backwards)

    def named_arguments(self):
        return {**super().named_arguments(), "data_format": self.data_format}

    def build(self, input_shape):
        if len(input_shape) != 5:
            raise ValueError(f"{self.name} takes (batch, time, rows, cols, channels) sequences of images, got "
                             f"{input_shape}")
        channels = input_shape[2 if self.data_format == "channels_first" else -1]
        if channels is None:
            raise ValueError(f"{self.name}: the channels must be known, got {input_shape}")
        kh, kw = self.kernel_size
        width = 4 * self.filters
        # (stored as symgraph's convolutions take them, (out, in, kh, kw); Keras's (kh, kw, in, out))
        self.kernel = self.add_weight("kernel", (width, channels, kh, kw), self.kernel_initializer,
                                      regularizer=self.regularizers[0], constraint=self.constraints[0],
                                      keras_axes=KERAS_KERNEL_AXES)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (width, self.filters, kh, kw),
                                                self.recurrent_initializer, regularizer=self.regularizers[1],
                                                constraint=self.constraints[1], keras_axes=KERAS_KERNEL_AXES)
        self.bias = self.add_weight("bias", (width,), self._bias_initializer(), regularizer=self.regularizers[2],
                                    constraint=self.constraints[2]) if self.use_bias else None

    def _bias_initializer(self):
        return forget_gate_ones(self.filters) if self.unit_forget_bias else self.bias_initializer

    def call(self, x, context):
        x, given = (x[0], x[1:]) if isinstance(x, list) else (x, [])
        first = self.data_format == "channels_first"
        frames = x.dimshuffle(1, 0, 2, 3, 4) if first else x.dimshuffle(1, 0, 4, 2, 3)  # (time, batch, C, H, W)
        steps, batch = shape(frames)[0], shape(frames)[1]
        flat = reshape(frames, [steps * batch] + [shape(frames)[k] for k in (2, 3, 4)])
        inputs = C.conv2d(flat, self.kernel, self.strides, self.padding, self.dilation_rate)
        if self.bias is not None:
            inputs = inputs + self.bias.dimshuffle("x", 0, "x", "x")
        inputs = reshape(inputs, [steps, batch] + [shape(inputs)[k] for k in (1, 2, 3)])
        states = [zeros([batch, self.filters, shape(inputs)[3], shape(inputs)[4]], dtype=x.dtype) for _ in range(2)]
        for k, state in enumerate(given):  # (in the layer's format: channels last unless channels_first)
            if state.ndim != 4:
                raise ValueError(f"{self.name}: initial state {k} must be 4-d images, got {state.type}")
            states[k] = state if first else state.dimshuffle(0, 3, 1, 2)
        (h, c), _ = scan(self._step, sequences=inputs, outputs_info=states, go_backwards=self.go_backwards,
                         name=self.name)
        out = h if self.return_sequences else h[-1]
        if self.return_sequences:
            out = out.dimshuffle(1, 0, 2, 3, 4) if first else out.dimshuffle(1, 0, 3, 4, 2)
        elif not first:
            out = out.dimshuffle(0, 2, 3, 1)
        if not self.return_state:
            return out
        last = [s[-1] if first else s[-1].dimshuffle(0, 2, 3, 1) for s in (h, c)]
        return [out] + last

    def _step(self, inputs_t, h, c):
        z = inputs_t + C.conv2d(h, self.recurrent_kernel, 1, "same")
        f = self.filters
        i, forget = self.recurrent_activation(z[:, :f]), self.recurrent_activation(z[:, f:2 * f])
        o = self.recurrent_activation(z[:, 3 * f:])
        c_new = forget * c + i * self.activation(z[:, 2 * f:3 * f])
        return [o * self.activation(c_new), c_new]
