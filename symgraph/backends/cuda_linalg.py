"""Products and convolutions on the device: the tiled GEMM kernel with strided operands,
and conv2d with its gradients as im2col/col2im around it."""
import math

import numpy as np

from . import cuda_device as D
from . import cuda_kernels as K
from . import cuda_thunks
from .cuda_thunks import materialize, fill, launch_1d


def _operand(a, batch_shape):
    """(flat, offset, (batch, row, col) strides) of a 2-d-or-more operand (an array or a
    D.StridedView: a transpose is read in place), its batch axes broadcast to batch_shape and
    flattened to one (copied when they cannot be)."""
    array, seen, base = (a.array, a.view, a.base) if isinstance(a, D.StridedView) else \
        (a, None, D.phantom(a.shape, a.dtype))
    v = np.broadcast_to(base if seen is None else seen, tuple(batch_shape) + tuple(a.shape)[-2:])
    off, strides = D.layout(v, base)
    batch = strides[:-2]
    if len(batch) > 1 and any(batch[d] != batch[d + 1] * batch_shape[d + 1] for d in range(len(batch) - 1)):
        return _operand(materialize(array, v, base), batch_shape)
    return D.flat(array), off, ((batch[-1] if batch else 0), strides[-2], strides[-1])


def launch_gemm(dtype, m, n, k, batch, a, b, out, c=None, alpha=1.0, beta=0.0):
    """out = alpha * a @ b (+ beta * c) over `batch` matrices; a, b, c and out are
    (flat array, offset, (batch, row, col) strides), so transposed operands and outputs
    written into another layout need no copy."""
    tile = D.geometry().tile
    has_c = c is not None
    c = c if has_c else (out[0], 0, (0, 0, 0))
    cuda_thunks.launch(K.gemm(tile, np.dtype(dtype).name), (-(-n // tile), -(-m // tile), batch), (tile, tile),
                       m, n, k, *a, *b, *c, has_c, alpha, beta, out[1], out[2], out[0])


def gemm(a, b, out_dtype, c=None, alpha=1.0, beta=1.0):
    """alpha * a @ b (+ beta * c) for operands of 2 or more dimensions (batch axes broadcast)."""
    batch_shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    (m, k), (k_b, n) = tuple(a.shape)[-2:], tuple(b.shape)[-2:]  # (the simulator's shapes refuse [-1])
    if k != k_b:
        raise ValueError(f"shapes {tuple(a.shape)} and {tuple(b.shape)} not aligned: {k} (dim {a.ndim - 1}) "
                         f"!= {k_b} (dim {b.ndim - 2})")
    shape = tuple(batch_shape) + (m, n)
    out = D.empty(shape, out_dtype)
    if out.size == 0:
        return out
    bias = None
    if c is not None:
        cb = D.phantom(c.shape, c.dtype)
        c_off, c_str = D.layout(np.broadcast_to(cb, (m, n)), cb)
        bias = (D.flat(c), c_off, (0,) + c_str)
    launch_gemm(out_dtype, m, n, k, math.prod(batch_shape), _operand(a, batch_shape), _operand(b, batch_shape),
                (D.flat(out), 0, (m * n, n, 1)), bias, alpha, beta)
    return out


class Convolution:
    """conv2d and its two gradients as im2col/col2im kernels around the tiled GEMM, one
    GEMM per group; the GEMM's strided operands and output read and write the image
    layouts in place, so only the filter gradient copies its operand."""

    def __init__(self, op, node, kind):
        self.params, self.dtype = op.params, node.outputs[0].dtype
        self.compute = getattr(self, kind)

    def __call__(self, inputs):
        return [self.compute(*inputs)]

    def _columns(self, x, k, cg, geometry):
        n, c, h, w = x.shape
        kh, kw, oh, ow = geometry[0], geometry[1], geometry[-2], geometry[-1]
        cols = D.empty((cg * kh * kw, n * oh * ow), x.dtype)
        launch_1d(K.im2col(), cols.size, D.flat(x), n, c, h, w, k * cg, cg, *geometry, D.flat(cols))
        return cols

    def forward(self, x, w):
        x, w = D.to_device(x), D.to_device(w)
        n, o, (_, cg, kh, kw), g = x.shape[0], w.shape[0], w.shape, self.params.groups
        geometry = self.params.window_geometry(x.shape[2:], (kh, kw))
        oh, ow = geometry[-2:]
        og, ckk, hw = o // g, cg * kh * kw, oh * ow
        out = D.empty((n, o, oh, ow), self.dtype)
        if out.size == 0:
            return out
        for k in range(g):
            cols = self._columns(x, k, cg, geometry)
            # batch = image: out[n, k*og + r, p] = sum_q w[k*og + r, q] cols[q, n*hw + p]
            launch_gemm(self.dtype, og, hw, ckk, n, (D.flat(w), k * og * ckk, (0, ckk, 1)),
                        (D.flat(cols), 0, (hw, n * hw, 1)), (D.flat(out), k * og * hw, (o * hw, hw, 1)))
        return out

    def grad_input(self, gy, w, in_shape):
        gy, w = D.to_device(gy), D.to_device(w)
        n, c, h, wd = (int(v) for v in D.to_host(in_shape))
        o, cg, kh, kw = w.shape
        g = self.params.groups
        geometry = self.params.window_geometry((h, wd), (kh, kw))
        oh, ow = geometry[-2:]
        og, ckk, hw = o // g, cg * kh * kw, oh * ow
        dx = D.empty((n, c, h, wd), self.dtype)
        if dx.size == 0:
            return dx
        for k in range(g):
            # cols[q, n*hw + p] = sum_r w[k*og + r, q] gy[n, k*og + r, p]
            cols = D.empty((ckk, n * hw), self.dtype)
            if cols.size:
                launch_gemm(self.dtype, ckk, hw, og, n, (D.flat(w), k * og * ckk, (0, 1, ckk)),
                            (D.flat(gy), k * og * hw, (o * hw, hw, 1)), (D.flat(cols), 0, (hw, n * hw, 1)))
            else:
                cols = fill((ckk, max(n * hw, 1)), 0, self.dtype)
            launch_1d(K.col2im(), n * cg * h * wd, D.flat(cols), n, c, h, wd, k * cg, cg, *geometry, D.flat(dx))
        return dx

    def grad_filters(self, x, gy, w_shape):
        x, gy = D.to_device(x), D.to_device(gy)
        o, cg, kh, kw = (int(v) for v in D.to_host(w_shape))
        g, n = self.params.groups, x.shape[0]
        geometry = self.params.window_geometry(x.shape[2:], (kh, kw))
        oh, ow = geometry[-2:]
        og, ckk, hw = o // g, cg * kh * kw, oh * ow
        if n * hw == 0:
            return fill((o, cg, kh, kw), 0, self.dtype)
        dw = D.empty((o, cg, kh, kw), self.dtype)
        gy_base = D.phantom(gy.shape, gy.dtype)
        for k in range(g):
            cols = self._columns(x, k, cg, geometry)
            part = gy_base[:, k * og:(k + 1) * og].reshape(n, og, hw).transpose(1, 0, 2)
            gk = materialize(gy, part, gy_base)                       # (og, n, hw) contiguous
            launch_gemm(self.dtype, og, ckk, n * hw, 1, (D.flat(gk), 0, (0, n * hw, 1)),
                        (D.flat(cols), 0, (0, 1, n * hw)), (D.flat(dw), k * og * ckk, (0, ckk, 1)))
        return dw
