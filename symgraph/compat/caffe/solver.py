"""Caffe's solvers (sgd_solver.cpp and its subclasses) over symgraph: a solver .prototxt's
training net and test nets, learning-rate policies and update rules as Caffe computes them,
one iteration one call of a compiled function (forward, backward and the update together).

Per iteration, as Caffe's ApplyUpdate: the gradients clipped to clip_gradients' global L2 norm,
divided by iter_size, weight decay added (L2: decay * w, L1: decay * sign(w), times the
parameter's decay_mult), then the rule at base_lr's current value times the parameter's lr_mult:
SGD history = momentum * history + rate * g, w -= history; Nesterov, AdaGrad, RMSProp,
AdaDelta and Adam as Caffe writes them."""
import os

import numpy as np

import symgraph as sg

from . import wire
from .net import TEST, TRAIN, Net, net_parameter
from ..protobuf.text_format import Message

_SOLVER_TYPES = ["SGD", "Nesterov", "AdaGrad", "RMSProp", "AdaDelta", "Adam"]
_SLOTS = {"SGD": 1, "Nesterov": 1, "AdaGrad": 1, "RMSProp": 1, "AdaDelta": 2, "Adam": 2}


def learning_rate(param, iteration, current_step=0):
    """base_lr under lr_policy at `iteration` (Caffe's GetLearningRate)."""
    policy = str(param.get("lr_policy", "fixed"))
    base, gamma = float(param.get("base_lr")), float(param.get("gamma", 0.0))
    power, stepsize = float(param.get("power", 0.0)), int(param.get("stepsize", 1) or 1)
    if policy == "fixed":
        return base
    if policy == "step":
        return base * gamma ** (iteration // stepsize)
    if policy == "exp":
        return base * gamma ** iteration
    if policy == "inv":
        return base * (1 + gamma * iteration) ** (-power)
    if policy == "multistep":
        return base * gamma ** current_step
    if policy == "poly":
        return base * (1 - iteration / float(param.get("max_iter"))) ** power
    if policy == "sigmoid":
        return base * (1 / (1 + np.exp(-gamma * (iteration - stepsize))))
    raise ValueError(f"unknown lr_policy {policy!r} (Caffe's: fixed, step, exp, inv, multistep, poly, sigmoid)")


class Solver:
    """A Caffe solver from its .prototxt (a path, its text or a SolverParameter Message):
    `.net` (the training net), `.test_nets`, `.iter`, `.step(n)`, `.solve()`, `.snapshot()`,
    `.restore(state_file)`, `.test()`."""

    type = None

    def __init__(self, solver_file, backend=None):
        self.param = param = net_parameter(solver_file)  # (a path, text or Message, as a net's)
        kind = self.type or str(param.get("type", "")) or _legacy_type(param.get("solver_type", "SGD"))
        if kind not in _SOLVER_TYPES:
            raise ValueError(f"unknown solver type {kind!r} (Caffe's: {', '.join(_SOLVER_TYPES)})")
        self.type = kind
        self.iter, self.current_step = 0, 0
        if int(param.get("random_seed", -1)) >= 0:
            from .fillers import set_random_seed
            set_random_seed(int(param.get("random_seed")))
        train, tests = self._net_sources()
        self.net = Net(train[0], TRAIN, level=train[1], stages=train[2], backend=backend)
        self.test_nets = [Net(source, TEST, level=level, stages=stages, backend=backend, share_from=self.net)
                          for source, level, stages in tests]
        self.test_iter = [int(t) for t in param.all("test_iter")]
        if len(self.test_iter) < len(self.test_nets) and self.test_nets:
            raise ValueError(f"the solver has {len(self.test_nets)} test nets and {len(self.test_iter)} "
                             f"test_iter values")
        self._learnable = self.net.learnable_params()
        self._history = [[sg.shared(np.zeros_like(v.get_value(borrow=True)), name=f"{v.name}/history{k}")
                          for k in range(_SLOTS[kind])] for v, _, _ in self._learnable]
        self._iter_size = int(param.get("iter_size", 1))
        self._accumulators = None
        self._step_function = None
        self._losses = []

    def _net_sources(self):
        """(source, level, stages) of the training net and of each test net, from the fields
        Caffe reads in its order: train_net_param, train_net, net_param, net."""
        p = self.param

        def state(field, k=None):
            states = p.all(field)
            s = states[k] if k is not None and k < len(states) else (states[0] if states and k is None else Message())
            return int(s.get("level", 0)), tuple(str(x) for x in s.all("stage"))

        shared = p.get("net_param") if p.has("net_param") else (str(p.get("net")) if p.has("net") else None)
        train = p.get("train_net_param") if p.has("train_net_param") else \
            (str(p.get("train_net")) if p.has("train_net") else shared)
        if train is None:
            raise ValueError("the solver names no training net (net, net_param, train_net or train_net_param)")
        tests = list(p.all("test_net_param")) + [str(t) for t in p.all("test_net")]
        if not tests and shared is not None and p.has("test_iter"):
            tests = [shared] * len(p.all("test_iter"))
        return (train,) + state("train_state"), [(t,) + state("test_state", k) for k, t in enumerate(tests)]

    # -- the update ------------------------------------------------------------------------

    def _updates(self, diffs, rate, t):
        """Caffe's ApplyUpdate on the symbolic gradients: the (parameter, new value) and
        (history, new value) pairs."""
        p, dt = self.param, np.float32
        momentum, delta = float(p.get("momentum", 0.0)), float(p.get("delta", 1e-8))
        decay, reg = float(p.get("weight_decay", 0.0)), str(p.get("regularization_type", "L2"))
        clip = float(p.get("clip_gradients", -1))
        if clip >= 0:
            norm = sg.sqrt(sum(sg.sum(sg.square(g)) for g in diffs))
            factor = sg.where(sg.gt(norm, clip), np.asarray(clip, dt) / norm, np.asarray(1, dt))
            diffs = [g * factor for g in diffs]
        updates = []
        for (variable, lr_mult, decay_mult), g, slots in zip(self._learnable, diffs, self._history):
            if self._iter_size > 1:
                g = g * np.asarray(1.0 / self._iter_size, dt)
            local_decay = decay * decay_mult
            if local_decay:
                w = variable
                g = g + (w * np.asarray(local_decay, dt) if reg == "L2" else sg.sign(w) * np.asarray(local_decay, dt))
            local_rate = rate * np.asarray(lr_mult, dt)
            step, new_slots = self._rule(g, slots, local_rate, momentum, delta, t)
            updates.append((variable, variable - step))
            updates.extend(zip(slots, new_slots))
        return updates

    def _rule(self, g, slots, rate, momentum, delta, t):
        """(the value subtracted from the parameter, the histories' new values)."""
        dt = np.float32
        mom, one = np.asarray(momentum, dt), np.asarray(1, dt)
        h = slots[0]
        if self.type == "SGD":
            new = h * mom + rate * g
            return new, [new]
        if self.type == "Nesterov":
            new = h * mom + rate * g
            return (one + mom) * new - mom * h, [new]
        if self.type == "AdaGrad":
            new = h + sg.square(g)
            return rate * g / (sg.sqrt(new) + np.asarray(delta, dt)), [new]
        if self.type == "RMSProp":
            decay = np.asarray(float(self.param.get("rms_decay", 0.99)), dt)
            new = h * decay + (one - decay) * sg.square(g)
            return rate * g / (sg.sqrt(new) + np.asarray(delta, dt)), [new]
        if self.type == "AdaDelta":
            h_updates = slots[1]
            eps = np.asarray(delta, dt)
            new_grads = h * mom + (one - mom) * sg.square(g)
            scaled = g * sg.sqrt((h_updates + eps) / (new_grads + eps))
            new_updates = h_updates * mom + (one - mom) * sg.square(scaled)
            return rate * scaled, [new_grads, new_updates]
        # Adam: beta1 = momentum, beta2 = momentum2, t = iteration + 1
        m, v = slots
        beta2 = np.asarray(float(self.param.get("momentum2", 0.999)), dt)
        new_m = m * mom + (one - mom) * g
        new_v = v * beta2 + (one - beta2) * sg.square(g)
        correction = sg.sqrt(one - beta2 ** t) / (one - mom ** t)
        return rate * correction * new_m / (sg.sqrt(new_v) + np.asarray(delta, dt)), [new_m, new_v]

    def _compile(self):
        net = self.net
        inputs = list(net._inputs.values())
        rate, t = sg.scalar("rate", "float32"), sg.scalar("t", "float32")
        names = net._blobs_until(None)
        blobs = [net._symbols[n] for n in names]
        loss = net._cost((), [])
        params = [v for v, _, _ in self._learnable]
        grads = sg.grad(loss, params) if params else []
        states = list(net._state_updates.items())
        if self._iter_size == 1:
            updates = self._updates(grads, rate, t) + states
            step = sg.function(inputs + [rate, t], [loss] + blobs + grads, updates=updates,
                               backend=net._backend, on_unused_input="ignore")
            self._step_function = (step, None, names)
            return
        self._accumulators = [sg.shared(np.zeros_like(v.get_value(borrow=True))) for v in params]
        accumulate = sg.function(inputs, [loss] + blobs + grads,
                                 updates=[(a, a + g) for a, g in zip(self._accumulators, grads)] + states,
                                 backend=net._backend, on_unused_input="ignore")
        apply = sg.function([rate, t], [], updates=self._updates(self._accumulators, rate, t) +
                            [(a, sg.zeros_like(a)) for a in self._accumulators], backend=net._backend,
                            on_unused_input="ignore")
        self._step_function = (accumulate, apply, names)

    # -- iterations ------------------------------------------------------------------------

    def _rate(self):
        values = [int(v) for v in self.param.all("stepvalue")]
        while self.current_step < len(values) and self.iter >= values[self.current_step]:
            self.current_step += 1
        return learning_rate(self.param, self.iter, self.current_step)

    def step(self, iters):
        """Train `iters` iterations (Caffe's Solver::Step): tests every test_interval, prints the
        loss every `display`, snapshots every `snapshot` iterations."""
        p = self.param
        test_interval, display = int(p.get("test_interval", 0)), int(p.get("display", 0))
        snapshot, average = int(p.get("snapshot", 0)), int(p.get("average_loss", 1))
        if self._step_function is None:
            self._compile()
        first, apply, names = self._step_function
        for _ in range(int(iters)):
            if test_interval and self.iter % test_interval == 0 and (self.iter > 0 or
                                                                     p.get("test_initialization", True)):
                self.test()
            rate = self._rate()
            loss = 0.0
            for _ in range(self._iter_size):
                self.net._feed({})
                args = self.net._input_arrays() + ([np.float32(rate), np.float32(self.iter + 1)] if apply is None
                                                   else [])
                values = first(*args)
                loss += float(values[0])
                self.net._keep(names, values[1:len(names) + 1], [v for v, _, _ in self._learnable],
                               values[len(names) + 1:])
            if apply is not None:
                apply(np.float32(rate), np.float32(self.iter + 1))
            self._losses = (self._losses + [loss / self._iter_size])[-average:]
            if display and self.iter % display == 0:
                print(f"Iteration {self.iter}, loss = {np.mean(self._losses):.6g}")
                self._print_outputs(self.net, "Train", [self.net._data[n] for n in self.net.outputs])
                print(f"Iteration {self.iter}, lr = {rate:.6g}")
            self.iter += 1
            if snapshot and self.iter % snapshot == 0:
                self.snapshot()

    def solve(self, resume_file=None):
        """Train to max_iter (from a .solverstate when given), then snapshot and test as Caffe's
        Solve does."""
        if resume_file is not None:
            self.restore(resume_file)
        p = self.param
        self.step(int(p.get("max_iter")) - self.iter)
        snapshot = int(p.get("snapshot", 0))
        if p.get("snapshot_after_train", True) and (not snapshot or self.iter % snapshot):
            self.snapshot()
        test_interval = int(p.get("test_interval", 0))
        if test_interval and self.iter % test_interval == 0:
            self.test()

    def test(self):
        """Run each test net test_iter times and print each output's mean (Caffe's TestAll);
        returns [{output: mean}] a test net."""
        results = []
        for k, net in enumerate(self.test_nets):
            totals = {}
            for _ in range(self.test_iter[k]):
                for name, value in net.forward().items():
                    totals[name] = totals.get(name, 0) + np.asarray(value, np.float64)
            means = {name: total / self.test_iter[k] for name, total in totals.items()}
            print(f"Iteration {self.iter}, Testing net (#{k})")
            self._print_outputs(net, "Test", [means[n] for n in net.outputs])
            results.append(means)
        return results

    @staticmethod
    def _print_outputs(net, what, values):
        weights = dict(net.loss_blobs())
        index = 0
        for name, value in zip(net.outputs, values):
            for item in np.ravel(value):
                weight = weights.get(name)
                extra = f" (* {weight:g} = {item * weight:.6g} loss)" if weight else ""
                print(f"    {what} net output #{index}: {name} = {item:.6g}{extra}")
                index += 1

    # -- snapshots -------------------------------------------------------------------------

    def snapshot(self):
        """Write `<snapshot_prefix>_iter_<iter>.caffemodel` and `.solverstate` (the iteration,
        the weights' file and the histories, in Caffe's SolverState encoding); returns the
        .caffemodel's path."""
        prefix = str(self.param.get("snapshot_prefix", ""))
        model = f"{prefix}_iter_{self.iter}.caffemodel"
        self.net.save(model)
        state = Message(iter=self.iter, learned_net=model, current_step=self.current_step)
        for slots in self._history:
            state.add("history", wire.array_blob(slots[0].get_value(borrow=True)))
        for slots in self._history:  # Adam's and AdaDelta's second histories follow the first
            for slot in slots[1:]:
                state.add("history", wire.array_blob(slot.get_value(borrow=True)))
        with open(f"{prefix}_iter_{self.iter}.solverstate", "wb") as f:
            f.write(wire.encode(state, "SolverState"))
        print(f"Snapshotting to binary proto file {model}")
        return model

    def restore(self, state_file):
        """Go on from a .solverstate: its iteration, histories and weights."""
        with open(state_file, "rb") as f:
            state = wire.decode(f.read(), "SolverState", where=str(state_file))
        histories = [wire.blob_array(b) for b in state.all("history")]
        slots = [s[0] for s in self._history] + [extra for s in self._history for extra in s[1:]]
        if len(histories) != len(slots):
            raise ValueError(f"{state_file} holds {len(histories)} histories, this {self.type} solver keeps "
                             f"{len(slots)}")
        for slot, array in zip(slots, histories):
            slot.set_value(array.reshape(slot.get_value(borrow=True).shape))
        self.iter, self.current_step = int(state.get("iter", 0)), int(state.get("current_step", 0))
        learned = str(state.get("learned_net", ""))
        if learned:
            if not os.path.exists(learned):
                learned = os.path.join(os.path.dirname(os.fspath(state_file)), os.path.basename(learned))
            self.net.copy_from(learned)


def _legacy_type(value):
    """The deprecated solver_type's name (its enum's name or number; the enum is in
    _SOLVER_TYPES' order) as `type` spells it."""
    if isinstance(value, int):
        return _SOLVER_TYPES[value]
    return {n.upper(): n for n in _SOLVER_TYPES}.get(str(value).upper(), str(value))


def _typed(kind):
    return type(f"{kind}Solver", (Solver,), {"type": kind, "__doc__": f"Caffe's {kind}Solver."})


SGDSolver, NesterovSolver, AdaGradSolver = _typed("SGD"), _typed("Nesterov"), _typed("AdaGrad")
RMSPropSolver, AdaDeltaSolver, AdamSolver = _typed("RMSProp"), _typed("AdaDelta"), _typed("Adam")


def get_solver(solver_file, backend=None):
    """The solver of the file's type (pycaffe's caffe.get_solver)."""
    return Solver(solver_file, backend=backend)
