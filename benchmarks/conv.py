"""Forward + backward of conv2d (batch 64, 1->16 channels, 28x28, 3x3, pad 1) and of a
conv-pool-conv-pool-dense block, side by side: symgraph, PyTorch CPU, JAX jit.
Run: .venv/bin/python benchmarks/conv.py"""
import numpy as np

import symgraph as sg
from common import best_seconds, print_table, try_import


def data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 1, 28, 28), dtype=np.float32)
    w1 = (rng.standard_normal((16, 1, 3, 3)) * 0.3).astype(np.float32)
    w2 = (rng.standard_normal((32, 16, 3, 3)) * 0.1).astype(np.float32)
    wd = (rng.standard_normal((32 * 7 * 7, 10)) * 0.02).astype(np.float32)
    return x, w1, w2, wd


def symgraph_fns(x, w1, w2, wd):
    xs = sg.ftensor4("x")
    W1, W2, WD = (sg.shared(v, n) for v, n in ((w1, "w1"), (w2, "w2"), (wd, "wd")))
    single = (sg.nn.conv2d(xs, W1, padding=1) ** 2).sum()
    f1 = sg.function([xs], [single] + sg.grad(single, [xs, W1]))
    h = sg.nn.max_pool2d(sg.nn.relu(sg.nn.conv2d(xs, W1, padding=1)), 2)
    h = sg.nn.max_pool2d(sg.nn.relu(sg.nn.conv2d(h, W2, padding=1)), 2)
    block = (sg.dot(h.flatten(2), WD) ** 2).sum()
    f2 = sg.function([xs], [block] + sg.grad(block, [W1, W2, WD]))
    return (lambda: f1(x)), (lambda: f2(x)), float(f1(x)[0]), float(f2(x)[0])


def torch_fns(torch, x, w1, w2, wd):
    F = torch.nn.functional
    tx = torch.tensor(x, requires_grad=True)
    tw1, tw2, twd = (torch.tensor(v, requires_grad=True) for v in (w1, w2, wd))

    def single():
        out = (F.conv2d(tx, tw1, padding=1) ** 2).sum()
        torch.autograd.grad(out, [tx, tw1])
        return out

    def block():
        h = F.max_pool2d(torch.relu(F.conv2d(tx, tw1, padding=1)), 2)
        h = F.max_pool2d(torch.relu(F.conv2d(h, tw2, padding=1)), 2)
        out = ((h.flatten(1) @ twd) ** 2).sum()
        torch.autograd.grad(out, [tw1, tw2, twd])
        return out
    return single, block, float(single().detach()), float(block().detach())


def jax_fns(jax, x, w1, w2, wd):
    import jax.numpy as jnp
    from jax import lax

    def conv(a, w):
        return lax.conv_general_dilated(a, w, (1, 1), ((1, 1), (1, 1)))

    def pool(a):
        return lax.reduce_window(a, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def single_loss(a, w):
        return (conv(a, w) ** 2).sum()

    def block_loss(ws, a):
        h = pool(jax.nn.relu(conv(a, ws[0])))
        h = pool(jax.nn.relu(conv(h, ws[1])))
        return ((h.reshape(h.shape[0], -1) @ ws[2]) ** 2).sum()
    s = jax.jit(jax.value_and_grad(single_loss, argnums=(0, 1)))
    b = jax.jit(jax.value_and_grad(block_loss))
    jx = jax.device_put(x)
    ws = [jax.device_put(v) for v in (w1, w2, wd)]
    return (lambda: jax.block_until_ready(s(jx, ws[0]))), (lambda: jax.block_until_ready(b(ws, jx))), \
        float(s(jx, ws[0])[0]), float(b(ws, jx)[0])


def main():
    x, w1, w2, wd = data()
    singles, blocks, values = [], [], {}
    s, b, vs, vb = symgraph_fns(x, w1, w2, wd)
    singles.append(("symgraph (numba backend)", best_seconds(s, repeat=5, number=5)))
    blocks.append(("symgraph (numba backend)", best_seconds(b, repeat=5, number=5)))
    values["symgraph"] = (vs, vb)
    print("(PyTensor 3 has no 2-d convolution or pooling op, so it is not in this comparison)")
    for name, make in (("torch", torch_fns), ("jax", jax_fns)):
        module = try_import(name)
        if module is None:
            continue
        try:
            s, b, vs, vb = make(module, x, w1, w2, wd)
        except Exception as exc:
            print(f"{name} failed: {type(exc).__name__}: {str(exc)[:160]}")
            continue
        label = {"torch": "PyTorch CPU", "jax": "JAX jit (CPU)"}[name]
        singles.append((label, best_seconds(s, repeat=5, number=5)))
        blocks.append((label, best_seconds(b, repeat=5, number=5)))
        values[name] = (vs, vb)
    for name, (vs, vb) in values.items():
        np.testing.assert_allclose([vs, vb], values["symgraph"], rtol=2e-3, err_msg=name)
    print_table("conv2d forward+backward, 64x1x28x28 * 16x1x3x3, pad 1", singles, "symgraph (numba backend)")
    print_table("conv-pool-conv-pool-dense forward+backward", blocks, "symgraph (numba backend)")


if __name__ == "__main__":
    main()
