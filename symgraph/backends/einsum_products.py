"""A two-operand einsum as one product: the letters sorted into batch, left, contracted and right
axes, each operand transposed and reshaped to a stack of matrices, one (batched) product, the
result reshaped and transposed to the output's letters (what opt_einsum and PyTorch do).

np.einsum(..., optimize=True), which the op's perform calls, works out a contraction path each
call (~12 us: "ij,jk->ik" of 64x64 float32 took 19.7 us, np.dot 5.4) and runs "bij,bjk->bik" on
one core (32 x 64x64 float32 228 us, sg.matmul 88); its path for a row-wise dot ("ij,ij->i")
or an outer product ("i,j->ij") was slower than NumPy's plain einsum (1000x100: 43.7 us against
23.6; 500 by 400: 89.6 against 49.2; a broadcast multiply 53). Here those run NumPy's plain
einsum; an optimized graph has them as a product and a sum instead, one fused loop
(rewrite/specialize.einsum_without_a_matrix_product).
"""
import math

import numpy as np

from ..ops.einsum import has_matrix_product, product_letters


class ProductEinsum:
    """einsum(spec, a, b) for subscripts that ops.einsum.product_letters takes (each letter one
    axis of an operand, none summed in one operand alone); `of` returns None for others."""

    def __init__(self, sa, sb, output, letters):
        self.spec = f"{sa},{sb}->{output}"
        batch, left, contracted, right = letters
        self.perm_a = [sa.index(c) for c in batch + left + contracted]
        self.perm_b = [sb.index(c) for c in batch + contracted + right]
        middle = batch + left + right
        self.perm_out = [middle.index(c) for c in output]
        self.identity = self.perm_out == sorted(self.perm_out)
        self.shared = [(sa.index(c), sb.index(c)) for c in sa if c in sb]
        self.counts = len(batch), len(left), len(right)
        # outer products and dots of rows: NumPy's einsum's sum of products, not a matrix product
        self.plain = not has_matrix_product(letters)

    @classmethod
    def of(cls, inputs, output):
        letters = product_letters(inputs, output)
        return None if letters is None else cls(*inputs, output, letters)

    def __call__(self, a, b, product):
        """The einsum of a and b, product(x, y) multiplying two matrices or two stacks of them;
        None where a letter's axes differ in length (NumPy's einsum broadcasts a length 1)."""
        if self.plain:
            return np.einsum(self.spec, a, b)
        for i, j in self.shared:
            if a.shape[i] != b.shape[j]:
                return None
        nb, nl, nr = self.counts
        at, bt = a.transpose(self.perm_a), b.transpose(self.perm_b)
        batch, left, right = at.shape[:nb], at.shape[nb:nb + nl], bt.shape[bt.ndim - nr:]
        n_batch, n_left, n_right = math.prod(batch), math.prod(left), math.prod(right)
        k = math.prod(at.shape[nb + nl:])
        a3, b3 = at.reshape(n_batch, n_left, k), bt.reshape(n_batch, k, n_right)
        out = product(a3[0], b3[0]) if n_batch == 1 else product(a3, b3)
        # (views only where needed: a view's result is copied for the caller, Function._own)
        shape = batch + left + right
        out = out if out.shape == shape else out.reshape(shape)
        return out if self.identity else out.transpose(self.perm_out)
