"""compile / fit / evaluate / predict for Model: one compiled training function reused for
every batch, a tqdm progress bar, validation each epoch, callbacks and History."""
import time

import numpy as np

from .. import losses as L, metrics as M, optimizers as O
from ..ops import elemwise as E
from ..ops.shape import expand_dims
from ..config import config
from ..function import function
from ..graph import Variable, TensorType, name_scope
from ..callbacks import History


class Compiled:
    def __init__(self, optimizer, loss, metrics, backend, spec=None):
        self.optimizer, self.loss = optimizer, loss
        self.spec = spec  # the loss and metrics as given (names, for saving.save_model), the backend
        self.metrics = list(metrics)
        self.metric_names = [M.name_of(m) for m in metrics]
        self.metric_fns = [M.get(m) for m in metrics]
        self.backend = backend
        self.train_fns, self.eval_fns, self.predict_fn = {}, {}, None


def compile_model(model, optimizer, loss, metrics, backend):
    model.optimizer = O.get(optimizer)
    model.compiled = Compiled(model.optimizer, L.get(loss), metrics or [], backend,
                              {"loss": loss, "metrics": list(metrics or []), "backend": backend})


def _require_compiled(model):
    if model.compiled is None:
        raise RuntimeError(f"compile {model.name} first: model.compile(optimizer=..., loss=...)")


def _as_batch_input(model, x):
    if hasattr(model, "ensure_built"):
        model.ensure_built(x)
    x = np.asarray(x)
    if x.dtype != np.dtype(model.input.dtype):
        if x.dtype.kind == "f" or np.can_cast(x.dtype, model.input.dtype, "safe") or x.dtype.kind in "iu":
            x = x.astype(model.input.dtype)
    return x


def _target_dtype(dtype):
    """The targets' dtype in the compiled functions: class indices (integer or bool) keep theirs,
    anything else is floatX."""
    return dtype if dtype.kind in "iub" else np.dtype(config.floatX)


def _as_targets(y):
    """y as the compiled functions take it: float targets cast to floatX, as Keras casts them
    (NumPy's float64 regression targets had raised a TypeError). Other kinds are left to the
    function's own checks, which name what they expect."""
    y = np.asarray(y)
    if y.dtype.kind == "f" and y.dtype != _target_dtype(y.dtype):
        y = y.astype(_target_dtype(y.dtype))
    return y


def _graph(model, training, y_var, weights=None):
    x = Variable(TensorType(model.input.dtype, model.input.type.shape), name="x")
    out, context = model.trace(x, training)
    comp = model.compiled
    if y_var is not None and y_var.ndim == out.ndim - 1 and out.type.shape[-1] == 1:
        # (n,) targets for (n, 1) outputs (a sigmoid unit's 0/1 labels): compared row by row, as
        # Keras does, not broadcast into an (n, n) table of every target against every output
        y_var = expand_dims(y_var, -1)
    with name_scope("loss"):
        loss = None if y_var is None else _mean_loss(comp.loss(y_var, out), weights)
        if loss is not None:  # regularizers' penalties, as Keras's fit and evaluate report them
            for penalty in model.losses + context.losses:
                loss = loss + penalty
    with name_scope("metrics"):
        metrics = [fn(y_var, out).mean() for fn in comp.metric_fns] if y_var is not None else []
    return x, out, loss, metrics, context


def _mean_loss(per_example, weights):
    """The batch's loss: the mean of the per-example losses, each times its weight when the
    function takes sample weights (Keras's sum of weighted losses over the batch size)."""
    if weights is None:
        return per_example.mean()
    if per_example.ndim == 0:
        raise ValueError("sample_weight and class_weight need a loss per example; this loss gives one value "
                         "for the whole batch")
    if per_example.ndim > 1:
        per_example = per_example.mean(axis=tuple(range(1, per_example.ndim)))
    return (per_example * E.cast(weights, per_example.dtype)).mean()


def _compiled(model, y, training, weighted=False):
    """The training or evaluation function for targets like y (cached per dtype and ndim),
    taking (x, y) or, weighted, (x, y, sample weights)."""
    comp = model.compiled
    y = np.asarray(y)
    # (keyed by dtype objects, read per train_on_batch call: making a Variable there, which
    # notes the user's line, and reading dtype.name took 19 us a call, 11-16% of a small step)
    key = _target_dtype(y.dtype), y.ndim, weighted
    store = comp.train_fns if training else comp.eval_fns
    if key not in store:
        y_var = Variable(TensorType(key[0], (None,) * key[1]), name="y_true")
        w_var = Variable(TensorType(config.floatX, (None,)), name="sample_weight") if weighted else None
        x, out, loss, metrics, context = _graph(model, training, y_var, w_var)
        updates = []
        if training:
            params = model.trainable_weights
            if not params:
                raise ValueError(f"{model.name} has no trainable weights (all layers frozen?)")
            updates = comp.optimizer.updates(loss, params) + context.updates
        store[key] = function([x, y_var] + ([w_var] if weighted else []), [loss] + metrics, updates=updates,
                              backend=comp.backend, name=f"{model.name}_{'train' if training else 'evaluate'}")
    return store[key]


def example_weights(y, class_weight=None, sample_weight=None):
    """One weight per example (floatX), or None for none given: sample_weight times the weight
    class_weight ({class: weight}, absent classes 1) gives each example's class (an integer
    label, a one-hot row's argmax, or a single 0/1 target)."""
    if class_weight is None and sample_weight is None:
        return None
    weights = np.ones(len(y))
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != (len(y),):
            raise ValueError(f"sample_weight needs one weight per example ({len(y)}), got shape {sample_weight.shape}")
        weights *= sample_weight
    if class_weight is not None:
        y = np.asarray(y)
        if y.dtype.kind in "iub" or y.ndim == 1 or y.shape[-1] == 1:
            labels = np.rint(y.reshape(len(y), -1)[:, 0]).astype(np.int64)
        else:
            labels = y.reshape(len(y), -1).argmax(axis=1)
        weights *= np.array([float(class_weight.get(int(label), 1.0)) for label in labels])
    return weights.astype(config.floatX)


def train_function(model, y, weighted=False):
    return _compiled(model, y, training=True, weighted=weighted)


def eval_function(model, y):
    return _compiled(model, y, training=False)


def predict_function(model):
    backend = model.compiled.backend if model.compiled else None
    cache = getattr(model, "_predict_fn", None)
    if cache is None or cache[0] != backend:
        x = Variable(TensorType(model.input.dtype, model.input.type.shape), name="x")
        out, _ = model.trace(x, False)
        model._predict_fn = (backend, function([x], out, backend=backend, name=f"{model.name}_predict"))
    return model._predict_fn[1]


def _batches(n, batch_size, order=None):
    order = np.arange(n) if order is None else order
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def evaluate(model, x, y, batch_size=256):
    _require_compiled(model)
    x = _as_batch_input(model, x)
    y = _as_targets(y)
    f = eval_function(model, y)
    totals, count = None, 0
    for idx in _batches(len(x), batch_size):
        values = np.array([float(v) for v in f(x[idx], y[idx])])
        totals = values * len(idx) if totals is None else totals + values * len(idx)
        count += len(idx)
    result = (totals / max(count, 1)).tolist()
    return result[0] if len(result) == 1 else result


def predict(model, x, batch_size=256):
    x = _as_batch_input(model, x)
    f = predict_function(model)
    outs = [f(x[idx]) for idx in _batches(len(x), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0,) + model.output_shape[1:], model.output.dtype)


def _values(values):
    """Keras's return value: the loss alone, or [loss, metric, ...]."""
    values = [float(v) for v in values]
    return values[0] if len(values) == 1 else values


def train_on_batch(model, x, y, sample_weight=None, class_weight=None):
    """One training step on this batch (the compiled function fit runs); the loss and metrics
    before the update, as Keras's train_on_batch."""
    _require_compiled(model)
    x, y = _as_batch_input(model, x), _as_targets(y)
    if len(x) != len(y):
        raise ValueError(f"train_on_batch: {len(x)} inputs but {len(y)} targets")
    weights = example_weights(y, class_weight, sample_weight)
    if weights is None:
        return _values(train_function(model, y)(x, y))
    return _values(train_function(model, y, weighted=True)(x, y, weights))


def test_on_batch(model, x, y):
    """The loss and metrics on this batch, no update (inference mode: no dropout)."""
    _require_compiled(model)
    x, y = _as_batch_input(model, x), _as_targets(y)
    return _values(eval_function(model, y)(x, y))


def fit(model, x, y, epochs, batch_size, validation_data, callbacks, verbose, shuffle, seed,
        validation_split, initial_epoch, class_weight=None, sample_weight=None):
    _require_compiled(model)
    x = _as_batch_input(model, x)
    y = _as_targets(y)
    if len(x) != len(y):
        raise ValueError(f"fit: {len(x)} inputs but {len(y)} targets")
    weights = example_weights(y, class_weight, sample_weight)
    if validation_split and validation_data is None:
        cut = int(len(x) * (1 - validation_split))
        x, y, validation_data = x[:cut], y[:cut], (x[cut:], y[cut:])
        weights = None if weights is None else weights[:cut]
    history = History()
    callbacks = [history] + list(callbacks or [])
    for cb in callbacks:
        cb.set_model(model)
    train = train_function(model, y, weighted=weights is not None)
    names = ["loss"] + model.compiled.metric_names
    rng = np.random.default_rng(seed)
    model.stop_training = False
    for cb in callbacks:
        cb.on_train_begin({})
    for epoch in range(initial_epoch, epochs):
        for cb in callbacks:
            cb.on_epoch_begin(epoch, {})
        order = rng.permutation(len(x)) if shuffle else None
        logs = _run_epoch(model, train, x, y, weights, batch_size, order, names, callbacks,
                          f"Epoch {epoch + 1}/{epochs}", verbose)
        if validation_data is not None:
            values = evaluate(model, validation_data[0], validation_data[1], batch_size=max(batch_size, 256))
            values = values if isinstance(values, list) else [values]
            logs.update({f"val_{n}": v for n, v in zip(names, values)})
        if verbose == 2 or (verbose and validation_data is not None):
            print(f"Epoch {epoch + 1}/{epochs} - " + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()
                                                                 if k != "seconds"))
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end({})
    return history


def _run_epoch(model, train, x, y, weights, batch_size, order, names, callbacks, title, verbose):
    from tqdm import tqdm
    batches = list(_batches(len(x), batch_size, order))
    bar = tqdm(total=len(batches), desc=title, unit="batch", leave=False, disable=verbose != 1,
               dynamic_ncols=True)
    sums, count = [0.0] * len(names), 0
    # Per-batch logs only for callbacks that read them and for a visible bar: building and
    # formatting them took 20 us a batch, as long as a small model's whole step.
    listeners = [cb for cb in callbacks if cb.wants_batch_logs()]
    shown = not bar.disable
    start = time.perf_counter()
    for b, idx in enumerate(batches):
        values = train(x[idx], y[idx]) if weights is None else train(x[idx], y[idx], weights[idx])
        n = len(idx)
        for k, v in enumerate(values):
            sums[k] += float(v) * n
        count += n
        if listeners or shown:
            logs = {name: total / count for name, total in zip(names, sums)}
            for cb in listeners:
                cb.on_batch_end(b, logs)
            if shown:
                bar.update(1)
                bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)
            if model.stop_training:  # (a callback stopped it: TerminateOnNaN)
                break
    bar.close()
    logs = {name: total / max(count, 1) for name, total in zip(names, sums)}
    logs["seconds"] = time.perf_counter() - start
    return logs
