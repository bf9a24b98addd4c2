"""One SGD step of a tanh RNN (backpropagation through time) written with scan: symgraph's
sg.scan beside the same step by hand in NumPy, PyTorch CPU eager (a Python loop, autograd),
JAX jit (lax.scan) and PyTensor (pytensor.scan, C). h_t = tanh(x_t W + h_{t-1} U), the cost
the mean squared error of every h_t V against targets. Every implementation starts from the
same weights and must reach the same first loss.
Then a Keras LSTM(32) classifier's train_on_batch (the LSTM layer is a scan) against PyTorch's
fused nn.LSTM. The first symgraph rows are a fresh function's calls, the step run by a Python
loop; the "loops compiled" row comes once the loops are compiled whole (numba_scan: after
HOT_SECONDS of calls, by a child process the first time on a machine).
Run: .venv/bin/python benchmarks/rnn_scan.py"""
import time

import numpy as np

import symgraph as sg
from common import best_seconds, print_table, try_import

LR = 0.05
CASES = [(50, 32, 16, 64), (20, 128, 64, 128)]  # (steps, batch, inputs, hidden units)


def weights(inputs, hidden, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(inputs, hidden)) / np.sqrt(inputs)).astype(np.float32),
            (rng.normal(size=(hidden, hidden)) / np.sqrt(hidden) * 0.5).astype(np.float32),
            (rng.normal(size=(hidden, 1)) / np.sqrt(hidden)).astype(np.float32)]


def symgraph_step(start):
    W, U, V = [sg.shared(w.copy(), name) for w, name in zip(start, "WUV")]
    x, y = sg.tensor3("x"), sg.tensor3("y")  # (steps, batch, inputs), (steps, batch, 1)

    def step(x_t, h):
        return sg.tanh(sg.dot(x_t, W) + sg.dot(h, U))
    hs, _ = sg.scan(step, sequences=x, outputs_info=sg.zeros((x.shape[1], U.get_value().shape[0]), "float32"))
    cost = ((sg.dot(hs, V) - y) ** 2).mean()
    grads = sg.grad(cost, [W, U, V])
    return sg.function([x, y], cost, updates=[(p, p - np.float32(LR) * g) for p, g in zip([W, U, V], grads)])


def loop_runners(f):
    """The compiled-loop tiers (numba_scan.LoopRunner) of f's scans."""
    from symgraph.backends.numba_scan import LoopRunner, ScanThunk
    run = getattr(f._run, "run", f._run)
    return [t.run for t in run.__globals__.values() if isinstance(t, ScanThunk) and isinstance(t.run, LoopRunner)]


def numpy_step(start):
    params = [w.copy() for w in start]

    def step(x, y):
        W, U, V = params
        T, B = x.shape[:2]
        hs, h = [], np.zeros((B, U.shape[0]), np.float32)
        for t in range(T):
            h = np.tanh(x[t] @ W + h @ U)
            hs.append(h)
        hs = np.stack(hs)
        err = hs @ V - y
        cost = (err ** 2).mean()
        d_out = (2 / err.size) * err                       # (T, B, 1)
        gV = hs.reshape(-1, hs.shape[-1]).T @ d_out.reshape(-1, 1)
        d_h = d_out @ V.T                                  # (T, B, H) from the outputs
        gW, gU, carry = np.zeros_like(W), np.zeros_like(U), np.zeros_like(h)
        for t in range(T - 1, -1, -1):
            d_z = (d_h[t] + carry) * (1 - hs[t] ** 2)
            before = hs[t - 1] if t else np.zeros_like(h)
            gW += x[t].T @ d_z
            gU += before.T @ d_z
            carry = d_z @ U.T
        for p, g in zip(params, (gW, gU, gV)):
            p -= LR * g
        return cost
    return step


def torch_step(torch, start):
    W, U, V = [torch.tensor(w.copy(), requires_grad=True) for w in start]

    def step(x, y):
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        h, hs = torch.zeros(x.shape[1], U.shape[0]), []
        for t in range(x.shape[0]):
            h = torch.tanh(x[t] @ W + h @ U)
            hs.append(h)
        cost = ((torch.stack(hs) @ V - y) ** 2).mean()
        for p in (W, U, V):
            p.grad = None
        cost.backward()
        with torch.no_grad():
            for p in (W, U, V):
                p -= LR * p.grad
        return float(cost)
    return step


def jax_step(jax, start):
    jnp = jax.numpy

    def cost_of(params, x, y):
        W, U, V = params

        def step(h, x_t):
            h = jnp.tanh(x_t @ W + h @ U)
            return h, h
        _, hs = jax.lax.scan(step, jnp.zeros((x.shape[1], U.shape[0]), jnp.float32), x)
        return ((hs @ V - y) ** 2).mean()

    @jax.jit
    def update(params, x, y):
        cost, grads = jax.value_and_grad(cost_of)(params, x, y)
        return [p - LR * g for p, g in zip(params, grads)], cost
    state = [jnp.asarray(w) for w in start]

    def step(x, y):
        nonlocal state
        state, cost = update(state, x, y)
        return float(cost.block_until_ready())
    return step


def pytensor_step(pytensor, start):
    pt = pytensor.tensor
    W, U, V = [pytensor.shared(w.copy(), name) for w, name in zip(start, "WUV")]
    x, y = pt.tensor3("x", dtype="float32"), pt.tensor3("y", dtype="float32")
    hs = pytensor.scan(lambda x_t, h: pt.tanh(pt.dot(x_t, W) + pt.dot(h, U)), sequences=x,
                       outputs_info=pt.zeros((x.shape[1], start[1].shape[0]), dtype="float32"), return_updates=False)
    cost = ((pt.dot(hs, V) - y) ** 2).mean()
    grads = pytensor.grad(cost, [W, U, V])
    return pytensor.function([x, y], cost, updates=[(p, p - np.float32(LR) * g) for p, g in zip([W, U, V], grads)])


def main():
    torch, jax, pytensor = try_import("torch"), try_import("jax"), try_import("pytensor")
    for steps, batch, inputs, hidden in CASES:
        rng = np.random.default_rng(1)
        x = rng.normal(size=(steps, batch, inputs)).astype(np.float32)
        y = np.tanh(np.cumsum(x[..., :1], axis=0) / 4).astype(np.float32)
        start = weights(inputs, hidden)
        runners = [("NumPy by hand", numpy_step(start)), ("symgraph (numba)", symgraph_step(start))]
        if torch is not None:
            torch.set_num_threads(2)
            runners.append(("PyTorch eager", torch_step(torch, start)))
        if jax is not None:
            runners.append(("JAX jit (lax.scan)", jax_step(jax, start)))
        if pytensor is not None:
            runners.append(("PyTensor C (scan)", pytensor_step(pytensor, start)))
        first = [float(run(x, y)) for _, run in runners]
        assert np.allclose(first, first[0], rtol=1e-4), first
        rows = [(label, best_seconds(lambda run=run: run(x, y), repeat=7, number=10, warmup=20))
                for label, run in runners]
        # The first calls run the step in a Python loop; once hot (numba_scan), the loops compile
        # whole (in a child process the first time on a machine, after that from the disk cache).
        f = runners[1][1]
        start_waiting = time.perf_counter()
        while not all(any(p is not None for p in r.programs.values()) for r in loop_runners(f)):
            f(x, y)
            if time.perf_counter() - start_waiting > 60:
                break
        waited = time.perf_counter() - start_waiting
        rows.insert(2, ("symgraph, loops compiled", best_seconds(lambda: f(x, y), repeat=7, number=10, warmup=20)))
        print_table(f"RNN SGD step: {steps} steps, batch {batch}, {inputs} inputs, {hidden} hidden units",
                    rows, "NumPy by hand")
        print(f"(symgraph's loops compiled {waited:.1f} s after those calls)")


LSTM_CASE = (32, 20, 8, 32)  # (batch, steps, features, units): a sequence classifier


def keras_lstm(backend):
    """A Keras LSTM(32) -> Dense(2, softmax) classifier's train_on_batch with Adam."""
    from symgraph import layers as L
    batch, steps, features, units = LSTM_CASE
    L.set_seed(0)
    model = L.Sequential([L.LSTM(units, input_shape=(steps, features)), L.Dense(2, activation="softmax")])
    model.compile(optimizer=sg.optimizers.Adam(lr=0.01), loss="sparse_categorical_crossentropy", backend=backend)
    return model


def torch_lstm(torch, x, labels):
    batch, steps, features, units = LSTM_CASE
    torch.manual_seed(0)
    lstm, dense = torch.nn.LSTM(features, units, batch_first=True), torch.nn.Linear(units, 2)
    opt = torch.optim.Adam(list(lstm.parameters()) + list(dense.parameters()), lr=0.01)
    xt, yt = torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))

    def step():
        opt.zero_grad()
        out, _ = lstm(xt)
        loss = torch.nn.functional.cross_entropy(dense(out[:, -1]), yt)
        loss.backward()
        opt.step()
        return float(loss)
    return step


def lstm_main(torch):
    """The Keras LSTM layer (scan inside) against PyTorch's fused nn.LSTM. The compiled loops
    come once the calls have run HOT_SECONDS (in a child process the first time on a machine)."""
    batch, steps, features, units = LSTM_CASE
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, batch)
    x = (rng.normal(size=(batch, steps, features)) + (labels * 2 - 1)[:, None, None] * 0.5).astype(np.float32)
    rows = []
    for backend in ("numpy", "numba"):
        model = keras_lstm(backend)
        rows.append((f"symgraph ({backend} backend)", best_seconds(lambda: model.train_on_batch(x, labels),
                                                                 repeat=7, number=10, warmup=5)))
    start_waiting = time.perf_counter()
    from symgraph.layers.training import train_function
    fit = train_function(model, labels)
    while not all(any(p is not None for p in r.programs.values()) for r in loop_runners(fit)):
        model.train_on_batch(x, labels)
        if time.perf_counter() - start_waiting > 60:
            break
    waited = time.perf_counter() - start_waiting
    rows.append(("symgraph, loops compiled", best_seconds(lambda: model.train_on_batch(x, labels),
                                                          repeat=7, number=10, warmup=5)))
    if torch is not None:
        rows.append(("PyTorch nn.LSTM (eager)", best_seconds(torch_lstm(torch, x, labels), repeat=7, number=10, warmup=5)))
    print_table(f"Keras LSTM({units}) classifier, Adam step: batch {batch}, {steps} steps, {features} features",
                rows, "symgraph (numpy backend)")
    print(f"(symgraph's loops compiled {waited:.1f} s after those calls)")


if __name__ == "__main__":
    main()
    lstm_main(try_import("torch"))
