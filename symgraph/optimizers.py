"""Optimizers: each turns (cost, params) into update pairs for sg.function.

    opt = sg.optimizers.Adam(lr=1e-3)
    train = sg.function([x, y], cost, updates=opt.updates(cost, params))

The learning rate is a shared variable, so schedules change it without recompiling.
As Keras's, every optimizer takes: weight_decay (adds weight_decay * p to each gradient: L2
regularization; AdamW decouples it), clipnorm (scales all gradients together so their global
norm is at most clipnorm), clipvalue (clips each gradient element to +-clipvalue) and decay
(Keras 2's time-based decay: the step's rate is lr / (1 + decay * iterations)). The
learning rate may be a schedule of sg.optimizers.schedules (ExponentialDecay, ...): each step
takes the schedule's rate for the steps before it.
"""
import numpy as np

from . import constraints
from .config import config
from .construction import Recorded
from .grad import grad
from .graph import name_scope
from .ops import elemwise as E
from .variables import shared
from . import schedules  # noqa: F401  (sg.optimizers.schedules: Keras's keras.optimizers.schedules)
from .schedules import LearningRateSchedule


class Optimizer(Recorded):
    # Each weight's slots in Keras 3's optimizer variables, in Keras's order (what a Keras file's
    # optimizer state is read into: layers/keras_files.py); None where Keras lays them out otherwise.
    keras_slots = None
    def __init__(self, lr, weight_decay=0.0, clipnorm=None, learning_rate=None, clipvalue=None, decay=0.0):
        lr = lr if learning_rate is None else learning_rate  # Keras 2's name for it
        # A schedule (schedules.py) gives each step's rate from `iterations` in the step itself.
        self.schedule = lr if isinstance(lr, LearningRateSchedule) else None
        with name_scope(type(self).__name__.lower()):
            self.lr = shared(np.asarray(lr(0) if self.schedule else lr, dtype=config.floatX), name="lr")
            self.iterations = shared(np.asarray(0, dtype="int64"), name="iterations")
        self.weight_decay, self.clipnorm, self.clipvalue = float(weight_decay), clipnorm, clipvalue
        self.decay = float(decay)

    @property
    def learning_rate(self):
        """The rate (a schedule's for the next step)."""
        if self.schedule is not None:
            return self.schedule(int(self.iterations.get_value()))
        return float(self.lr.get_value())

    @learning_rate.setter
    def learning_rate(self, value):
        if self.schedule is not None:
            raise TypeError(f"{type(self).__name__}'s learning rate is the schedule {self.schedule!r}: it cannot be "
                            f"set (a callback that sets it, as ReduceLROnPlateau, needs a number)")
        self.lr.set_value(np.asarray(value, dtype=self.lr.dtype))

    def gradients(self, cost, params):
        grads = grad(cost, params)
        if self.weight_decay:
            grads = [g + self.weight_decay * p for g, p in zip(grads, params)]
        if self.clipnorm:
            norm = E.sqrt(sum((g * g).sum() for g in grads))
            scale = E.minimum(1.0, self.clipnorm / (norm + 1e-12))
            grads = [g * E.cast(scale, g.dtype) for g in grads]
        if self.clipvalue:
            grads = [E.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def updates(self, cost, params):
        """[(shared, new value)] for one step of this optimizer on `params`."""
        params = list(params)
        grads = self.gradients(cost, params)
        with name_scope(type(self).__name__.lower()):  # one cluster in pictures
            steps = self.step(params, grads)
            # (a weight's constraint on the value its step computes, as Keras's optimizers apply it;
            # the optimizer's own slots have none)
            steps = [(v, constraints.apply(v, new)) for v, new in steps]
            return steps + [(self.iterations, self.iterations + 1)]

    get_updates = updates

    def slot(self, p, name, fill=0.0):
        """The optimizer's state `name` for weight p (made at its first use: a training function
        built again, or a state read from a file beforehand, goes on from it)."""
        slots = self.__dict__.setdefault("_slots", {})
        if (p, name) not in slots:
            with name_scope(type(self).__name__.lower()):
                slots[p, name] = shared(np.full(p.get_value(borrow=True).shape, fill, dtype=p.dtype),
                                        name=f"{p.name}/{name}")
        return slots[p, name]

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.learning_rate:g})"

    def lr_as(self, p):
        """This step's learning rate in p's dtype (lr / (1 + decay * iterations) with a decay)."""
        lr = self.lr if self.schedule is None else E.cast(self.schedule(self.iterations), self.lr.dtype)
        if self.decay:
            lr = lr / (1 + self.decay * E.cast(self.iterations, self.lr.dtype))
        return E.cast(lr, p.dtype)


class SGD(Optimizer):
    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, **kw):
        super().__init__(lr, **kw)
        self.momentum, self.nesterov = float(momentum), nesterov

    @property
    def keras_slots(self):
        return ("velocity",) if self.momentum else ()

    def step(self, params, grads):
        out = []
        for p, g in zip(params, grads):
            lr = self.lr_as(p)
            if not self.momentum:
                out.append((p, p - lr * g))
                continue
            v = self.slot(p, "velocity")
            v_new = self.momentum * v - lr * g
            p_new = p + self.momentum * v_new - lr * g if self.nesterov else p + v_new
            out += [(v, v_new), (p, p_new)]
        return out


class Adam(Optimizer):
    keras_slots = ("m", "v")

    def __init__(self, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kw):
        super().__init__(lr, **kw)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def step(self, params, grads):
        t = E.cast(self.iterations + 1, config.floatX)
        correction = E.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        out = []
        for p, g in zip(params, grads):
            m, v = self.slot(p, "m"), self.slot(p, "v")
            m_new = self.beta_1 * m + (1 - self.beta_1) * g
            v_new = self.beta_2 * v + (1 - self.beta_2) * g * g
            step = self.lr_as(p) * E.cast(correction, p.dtype)
            out += [(m, m_new), (v, v_new), (p, p - step * m_new / (E.sqrt(v_new) + self.epsilon))]
        return out


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter): each step also shrinks the
    weights by lr * weight_decay * p, outside Adam's scaling (Adam's own weight_decay= adds it
    to the gradient instead)."""

    def __init__(self, lr=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kw):
        super().__init__(lr, beta_1, beta_2, epsilon, **kw)
        self.decoupled_decay = float(weight_decay)

    def step(self, params, grads):
        shrink = {p: self.lr_as(p) * self.decoupled_decay * p for p in params}
        return [(target, value - shrink[target]) if target in shrink else (target, value)
                for target, value in super().step(params, grads)]


class Nadam(Optimizer):
    """Adam with Nesterov momentum (Dozat), as Keras's: the momentum schedule
    beta_1 * (1 - 0.5 * 0.96 ** (t * schedule_decay)) and its running product."""

    def __init__(self, lr=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-7, schedule_decay=0.004, **kw):
        super().__init__(lr, **kw)
        self.beta_1, self.beta_2, self.epsilon, self.schedule_decay = beta_1, beta_2, epsilon, schedule_decay
        with name_scope("nadam"):
            self.m_schedule = shared(np.asarray(1.0, dtype=config.floatX), name="m_schedule")

    def step(self, params, grads):
        t = E.cast(self.iterations + 1, config.floatX)
        momentum = self.beta_1 * (1 - 0.5 * 0.96 ** (t * self.schedule_decay))
        next_momentum = self.beta_1 * (1 - 0.5 * 0.96 ** ((t + 1) * self.schedule_decay))
        schedule = self.m_schedule * momentum
        next_schedule = schedule * next_momentum
        out = [(self.m_schedule, schedule)]
        for p, g in zip(params, grads):
            m, v = self.slot(p, "m"), self.slot(p, "v")
            m_new = self.beta_1 * m + (1 - self.beta_1) * g
            v_new = self.beta_2 * v + (1 - self.beta_2) * g * g
            cast = lambda value: E.cast(value, p.dtype)  # noqa: E731
            m_bar = cast(1 - momentum) * g / cast(1 - schedule) + cast(next_momentum) * m_new / cast(1 - next_schedule)
            v_hat = v_new / cast(1 - self.beta_2 ** t)
            out += [(m, m_new), (v, v_new), (p, p - self.lr_as(p) * m_bar / (E.sqrt(v_hat) + self.epsilon))]
        return out


class RMSprop(Optimizer):
    def __init__(self, lr=0.001, rho=0.9, epsilon=1e-7, **kw):
        super().__init__(lr, **kw)
        self.rho, self.epsilon = rho, epsilon

    def step(self, params, grads):
        out = []
        for p, g in zip(params, grads):
            a = self.slot(p, "mean_square")
            a_new = self.rho * a + (1 - self.rho) * g * g
            out += [(a, a_new), (p, p - self.lr_as(p) * g / (E.sqrt(a_new) + self.epsilon))]
        return out


class Adagrad(Optimizer):
    keras_slots = ("accumulator",)

    def __init__(self, lr=0.01, epsilon=1e-7, initial_accumulator_value=0.1, **kw):
        super().__init__(lr, **kw)
        self.epsilon, self.initial = epsilon, initial_accumulator_value

    def step(self, params, grads):
        out = []
        for p, g in zip(params, grads):
            a = self.slot(p, "accumulator", self.initial)
            a_new = a + g * g
            out += [(a, a_new), (p, p - self.lr_as(p) * g / (E.sqrt(a_new) + self.epsilon))]
        return out


class Adadelta(Optimizer):
    """Zeiler's Adadelta (Keras's classic mnist_cnn's optimizer): steps scaled by the running
    root mean squares of past steps and of gradients; lr=1.0 is the method as published (and
    Keras 2's default; tf.keras later took 0.001)."""

    def __init__(self, lr=1.0, rho=0.95, epsilon=1e-7, **kw):
        super().__init__(lr, **kw)
        self.rho, self.epsilon = rho, epsilon

    def step(self, params, grads):
        out = []
        for p, g in zip(params, grads):
            a, d = self.slot(p, "mean_square"), self.slot(p, "mean_square_step")
            a_new = self.rho * a + (1 - self.rho) * g * g
            delta = g * E.sqrt(d + self.epsilon) / E.sqrt(a_new + self.epsilon)
            d_new = self.rho * d + (1 - self.rho) * delta * delta
            out += [(a, a_new), (d, d_new), (p, p - self.lr_as(p) * delta)]
        return out


class Adamax(Optimizer):
    """Adam with the infinity norm: steps of lr / (1 - beta_1^t) * m / (u + epsilon), u the
    decayed maximum of |g|."""

    def __init__(self, lr=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kw):
        super().__init__(lr, **kw)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def step(self, params, grads):
        t = E.cast(self.iterations + 1, config.floatX)
        correction = 1 / (1 - self.beta_1 ** t)
        out = []
        for p, g in zip(params, grads):
            m, u = self.slot(p, "m"), self.slot(p, "u")
            m_new = self.beta_1 * m + (1 - self.beta_1) * g
            u_new = E.maximum(self.beta_2 * u, abs(g))
            step = self.lr_as(p) * E.cast(correction, p.dtype)
            out += [(m, m_new), (u, u_new), (p, p - step * m_new / (u_new + self.epsilon))]
        return out


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad, "adadelta": Adadelta,
            "adamax": Adamax, "nadam": Nadam, "adamw": AdamW}


def get(optimizer):
    """An optimizer from a name ('adam', 'sgd', ...) or the optimizer itself."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    try:
        return _BY_NAME[str(optimizer).lower()]()
    except KeyError:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose from {sorted(_BY_NAME)}") from None
