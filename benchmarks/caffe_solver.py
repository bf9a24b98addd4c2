"""A Caffe user's training step, side by side: tutorial 10's LeNet (8x8 digits, batch 64) trained
by sg.compat.caffe's SGDSolver (one compiled call: forward, backward, Caffe's momentum and weight
decay, every blob's value and each parameter's gradient returned as pycaffe shows them), the same
step compiled by sg.function with only the loss fetched (what the blobs and diffs cost), and
PyTorch eager with torch.optim.SGD (the same rule while the rate is fixed). All start from the
same weights; their first steps' losses and the weights after them are checked to agree."""
import os
import tempfile

import numpy as np

import symgraph as sg
import symgraph.compat.caffe as caffe
from common import best_seconds, print_table, try_import

NET = """name: "LeNet"
layer { name: "data" type: "Input" top: "data" top: "label"
  input_param { shape { dim: 64 dim: 1 dim: 8 dim: 8 } shape { dim: 64 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param { num_output: 20 kernel_size: 3 pad: 1 weight_filler { type: "xavier" } } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2"
  convolution_param { num_output: 50 kernel_size: 3 pad: 1 weight_filler { type: "xavier" } } }
layer { name: "fc1" type: "InnerProduct" bottom: "conv2" top: "fc1"
  inner_product_param { num_output: 128 weight_filler { type: "xavier" } } }
layer { name: "relu1" type: "ReLU" bottom: "fc1" top: "fc1" }
layer { name: "score" type: "InnerProduct" bottom: "fc1" top: "score"
  inner_product_param { num_output: 10 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "score" bottom: "label" top: "loss" }
"""
SOLVER = 'base_lr: 0.01 momentum: 0.9 weight_decay: 0.0005 lr_policy: "fixed" display: 0 max_iter: 100000'


def caffe_solver(folder, x, y):
    with open(os.path.join(folder, "lenet.prototxt"), "w") as f:
        f.write(NET)
    caffe.set_random_seed(0)
    solver = caffe.SGDSolver(caffe.parse_prototxt(f'net: "{folder}/lenet.prototxt" {SOLVER}'))
    solver.net.blobs["data"].data[...] = x
    solver.net.blobs["label"].data[...] = y
    return solver


def loss_only_step(solver):
    """The solver's own step with only the loss fetched (no blobs, no diffs)."""
    net = solver.net
    rate, t = sg.scalar("rate", "float32"), sg.scalar("t", "float32")
    loss = net._cost((), [])
    params = [v for v, _, _ in solver._learnable]
    updates = solver._updates(sg.grad(loss, params), rate, t)
    f = sg.function(list(net._inputs.values()) + [rate, t], loss, updates=updates, on_unused_input="ignore")
    args = net._input_arrays() + [np.float32(0.01), np.float32(1)]
    return lambda: f(*args)


def torch_step(torch, weights, x, y):
    """PyTorch eager: the same LeNet from `weights` (Caffe's layouts are PyTorch's)."""
    F = torch.nn.functional
    params = [torch.tensor(w, requires_grad=True) for w in weights]
    optimizer = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=0.0005)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))

    def step():
        w1, b1, w2, b2, w3, b3, w4, b4 = params
        h = F.max_pool2d(F.conv2d(tx, w1, b1, padding=1), 2, 2)
        h = F.relu(F.linear(F.conv2d(h, w2, b2, padding=1).flatten(1), w3, b3))
        loss = F.cross_entropy(F.linear(h, w4, b4), ty)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()
    return step, params


def main():
    folder = tempfile.mkdtemp()
    (images, labels), _ = sg.datasets.load_digits()
    x, y = images[:64].reshape(64, 1, 8, 8).astype(np.float32), labels[:64].astype(np.float32)
    solver = caffe_solver(folder, x, y)
    weights = [p.data.copy() for name in ("conv1", "conv2", "fc1", "score") for p in solver.net.params[name]]
    rows = []
    torch = try_import("torch")
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
        step, params = torch_step(torch, weights, x, y)
        first_torch = step()
        solver.step(1)
        assert abs(first_torch - float(solver.net.blobs["loss"].data)) < 1e-5, "the first losses differ"
        for p, q in zip(params, (p for name in ("conv1", "conv2", "fc1", "score") for p in solver.net.params[name])):
            np.testing.assert_allclose(p.detach().numpy(), q.data, rtol=1e-4, atol=1e-6)
        rows.append(("PyTorch eager (SGD, momentum)", best_seconds(step, repeat=7, number=50)))
    rows.append(("caffe.SGDSolver.step(1)", best_seconds(lambda: solver.step(1), repeat=7, number=50)))
    rows.append(("the same step, only the loss", best_seconds(loss_only_step(solver), repeat=7, number=50)))
    print_table("LeNet on 8x8 digits, batch 64: one SGD step", rows, "caffe.SGDSolver.step(1)")


if __name__ == "__main__":
    main()
