"""TensorFlow 1 code's training step through sg.compat.v1: `sess.run([train_op, loss], feed_dict)`
of a softmax regression (64-10, batch 32) and of the 784-512-512-10 ReLU MLP (batch 128), beside
the same run through Session.run's general path (each run's casts and checks: what a run made
again skips), the graph's compiled function called directly (what Session.run adds), PyTorch eager and
JAX jit on the same weights and batch (the first losses checked to agree). TensorFlow itself is
not installed on these machines.
Run: .venv/bin/python benchmarks/tf1_session.py"""
import numpy as np

import symgraph.compat.v1 as tf
from common import best_seconds, print_table, torch_mlp_step, try_import
from small_steps import init as weights, jax_step, until_whole
from symgraph.backends import numba_program


def tf1_step(sizes, lr):
    """The TF1 graph of the MLP (no hidden layer: softmax regression) and its session."""
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [None, sizes[0]], name="x")
    y = tf.placeholder(tf.int32, [None], name="y")
    params = [tf.Variable(p) for p in weights(sizes)]
    h = x
    for k in range(0, len(params), 2):
        h = tf.matmul(h, params[k]) + params[k + 1]
        h = tf.nn.relu(h) if k < len(params) - 2 else h
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=h))
    train = tf.train.GradientDescentOptimizer(lr).minimize(loss)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    return sess, train, loss, x, y


def compare(title, sizes, batch, lr=0.1):
    rng = np.random.default_rng(1)
    xv = rng.random((batch, sizes[0]), dtype=np.float32)
    yv = rng.integers(0, sizes[-1], batch).astype(np.int32)
    sess, train, loss, x, y = tf1_step(sizes, lr)
    feed = {x: xv, y: yv}
    sess.run([train, loss], feed)
    compiled = next(entry[0] for key, entry in sess._functions.items() if len(key[1]) == 2)
    if large(sizes, batch):
        note = "(arrays above numba_program.MAX_ELEMENTS: run node by node)"
    else:  # (the numba backend's whole-program tier, compiled in the background after 0.25 s of calls)
        calls, seconds = until_whole(compiled, xv, yv)
        note = f"(the whole step compiled after {calls} calls, {seconds:.2f} s)"
    sess.run(tf.global_variables_initializer())  # (back to the first weights)
    first = {"tf1": float(sess.run([train, loss], feed)[1])}
    run = lambda: sess.run([train, loss], feed)  # noqa: E731
    rows = [("sess.run([train, loss], feed)", best_seconds(run, repeat=5, number=200))]
    general = lambda: sess._run([train, loss], feed)  # noqa: E731  (what each run took before the fast path)
    rows.append(("sess.run, the general path", best_seconds(general, repeat=5, number=200)))
    rows.append(("its compiled function, called", best_seconds(lambda: compiled(xv, yv), repeat=5, number=200)))
    torch = try_import("torch")
    if torch:
        torch.set_num_threads(2)
        step = torch_mlp_step(torch, weights(sizes), xv, yv, lr)
        first["torch"] = float(step().detach())
        rows.append(("PyTorch eager (CPU)", best_seconds(step, repeat=5, number=200)))
    jax = try_import("jax")
    if jax:
        step = jax_step(jax, sizes, xv, yv, lr)
        first["jax"] = float(step())
        rows.append(("JAX jit (CPU)", best_seconds(step, repeat=5, number=200)))
    for name, value in first.items():
        assert abs(value - first["tf1"]) < 1e-4 * max(1.0, abs(value)), first
    print_table(f"{title} (first loss {first['tf1']:.4f} everywhere)", rows, "sess.run([train, loss], feed)",
                unit="us", scale=1e6)
    print(f"  {note}")


def large(sizes, batch):
    return max(sizes[0] * batch, *[a * b for a, b in zip(sizes[:-1], sizes[1:])]) > numba_program.MAX_ELEMENTS


def main():
    compare("softmax regression 64-10, batch 32, SGD", (64, 10), 32)
    compare("MLP 784-512-512-10, batch 128, SGD", (784, 512, 512, 10), 128, lr=0.01)


if __name__ == "__main__":
    main()
