"""Caffe's command line (tools/caffe.cpp) over symgraph:

    python -m symgraph.compat.caffe train --solver=lenet_solver.prototxt [--weights=x.caffemodel]
    python -m symgraph.compat.caffe train --solver=lenet_solver.prototxt --snapshot=lenet_iter_500.solverstate
    python -m symgraph.compat.caffe test --model=lenet_train_test.prototxt --weights=x.caffemodel --iterations=50
    python -m symgraph.compat.caffe time --model=lenet_train_test.prototxt --iterations=50

--gpu (any id) compiles for the CUDA backend, as caffe's --gpu runs on the GPU."""
import argparse
import sys
import time

import numpy as np

from .net import TEST, TRAIN, Net, MODE
from .solver import Solver


def _parser():
    parser = argparse.ArgumentParser(prog="python -m symgraph.compat.caffe",
                                     description="Caffe's command line: train, test, time")
    parser.add_argument("command", choices=["train", "test", "time"])
    parser.add_argument("--solver", help="the solver .prototxt (train)")
    parser.add_argument("--model", help="the net .prototxt (test, time)")
    parser.add_argument("--weights", help="weights to start from (train: fine-tuning) or to test, comma-separated")
    parser.add_argument("--snapshot", help="a .solverstate to go on from (train)")
    parser.add_argument("--iterations", type=int, default=50, help="test / time: forward passes (default 50)")
    parser.add_argument("--phase", choices=["TRAIN", "TEST"], default=None, help="the net's phase (test: TEST)")
    parser.add_argument("--level", type=int, default=0)
    parser.add_argument("--stage", default="", help="comma-separated stages")
    parser.add_argument("--gpu", default=None, help="run on the GPU (symgraph's CUDA backend)")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.gpu is not None:
        MODE["backend"] = "cuda"
    stages = [s for s in args.stage.split(",") if s]
    if args.command == "train":
        return train(args)
    if not args.model:
        sys.exit(f"caffe {args.command} needs --model")
    return test(args, stages) if args.command == "test" else time_net(args, stages)


def train(args):
    if not args.solver:
        sys.exit("caffe train needs --solver")
    if args.weights and args.snapshot:
        sys.exit("give --weights (fine-tuning) or --snapshot (resuming), not both")
    solver = Solver(args.solver)
    if args.weights:
        for path in args.weights.split(","):
            solver.net.copy_from(path)  # (the test nets share the training net's blobs)
    print("Starting Optimization")
    solver.solve(resume_file=args.snapshot)
    print("Optimization Done.")
    return solver


def test(args, stages):
    """Forward --iterations batches of the net (phase TEST) and print each output's mean."""
    phase = TEST if args.phase in (None, "TEST") else TRAIN
    net = Net(args.model, phase, weights=args.weights, level=args.level, stages=stages)
    totals = {}
    for i in range(args.iterations):
        for name, value in net.forward().items():
            print(f"Batch {i}, {name} = {' '.join(f'{v:g}' for v in np.ravel(value))}")
            totals[name] = totals.get(name, 0) + np.asarray(value, np.float64)
    weights = dict(net.loss_blobs())
    means = {name: total / args.iterations for name, total in totals.items()}
    for name, mean in means.items():
        loss = f" (* {weights[name]:g} = {float(np.sum(mean)) * weights[name]:g} loss)" if name in weights else ""
        print(f"{name} = {' '.join(f'{v:g}' for v in np.ravel(mean))}{loss}")
    return means


def time_net(args, stages):
    """Average forward, backward and forward-backward times of the net (phase TRAIN), after one
    untimed pass (the compiles). The backward is one compiled gradient function, which runs the
    forward pass it differentiates again: its time includes one."""
    phase = TRAIN if args.phase in (None, "TRAIN") else TEST
    net = Net(args.model, phase, level=args.level, stages=stages)
    has_loss = bool(net.loss_blobs())
    net.forward()
    if has_loss:
        net.backward()
    forward = backward = 0.0
    for _ in range(args.iterations):
        start = time.perf_counter()
        net.forward()
        middle = time.perf_counter()
        if has_loss:
            net.backward()
        forward, backward = forward + middle - start, backward + time.perf_counter() - middle
    n = max(args.iterations, 1)
    print(f"Average Forward pass: {forward / n * 1e3:.4g} ms.")
    if has_loss:
        print(f"Average Backward pass: {backward / n * 1e3:.4g} ms.")
    print(f"Average Forward-Backward: {(forward + backward) / n * 1e3:.4g} ms.")
    print(f"Total Time: {(forward + backward) * 1e3:.4g} ms.")
    return forward / n, backward / n


if __name__ == "__main__":
    main()
