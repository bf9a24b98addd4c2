"""compile / fit / evaluate / predict for Model: one compiled training function reused for
every batch, a tqdm progress bar, validation each epoch, callbacks and History."""
import time
import weakref

import numpy as np

from .. import losses as L, metrics as M, optimizers as O
from ..ops import elemwise as E
from ..ops.shape import expand_dims, reshape, shape
from ..config import config
from ..function import function
from ..graph import Variable, TensorType, name_scope
from ..callbacks import History
from ..utils import Sequence


class Compiled:
    """A model's compile settings: per output, its loss function, its weight in the total loss
    and its metrics; the names fit logs them under (Keras's: "loss", then with several outputs
    "<output>_loss" each, then the metrics, "<output>_<metric>" with several outputs)."""

    def __init__(self, optimizer, losses, loss_weights, metrics, output_names, backend, spec=None):
        self.optimizer = optimizer
        self.losses, self.loss_weights = losses, loss_weights
        self.metric_fns = [[M.get(m) for m in per_output] for per_output in metrics]
        self.spec = spec  # the loss and metrics as given (names, for saving.save_model), the backend
        several = len(output_names) > 1
        self.metric_names = [f"{name}_loss" for name in output_names] if several else []
        for name, per_output in zip(output_names, metrics):
            self.metric_names += [f"{name}_{M.name_of(m)}" if several else M.name_of(m) for m in per_output]
        self.backend = backend
        self.train_fns, self.eval_fns, self.predict_fn = {}, {}, None
        # A metric of counts (Precision, AUC) gives the compiled functions several values, the
        # batch's mean counts, whose running means it turns into its value: `report` maps the
        # functions' values to the reported ones (None where every metric is a mean).
        self.counting = [m if isinstance(m, M.CountsMetric) else None for per_output in metrics for m in per_output]
        self.report = self._report if any(self.counting) else None

    def _report(self, raw):
        """The reported values (loss(es), metrics) from the running means of the functions' values."""
        sizes = [1 if m is None else len(m.part_names) for m in self.counting]
        k = len(raw) - sum(sizes)
        out = [float(v) for v in raw[:k]]
        for metric, size in zip(self.counting, sizes):
            out.append(float(raw[k]) if metric is None else metric.finish(raw[k:k + size]))
            k += size
        return out


def _per_output(value, names, what):
    """`value` for each of the outputs `names`: one for all, a list in their order, or a dict by name."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"{what} names outputs {unknown}; the model's outputs are {names}")
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"{what} has {len(value)} entries for the model's {len(names)} outputs {names}")
        return list(value)
    return [value] * len(names)


def compile_model(model, optimizer, loss, metrics, backend, loss_weights=None):
    names = model.output_names
    losses = _per_output(loss, names, "loss")
    if any(fn is None for fn in losses):
        raise ValueError(f"every output needs a loss: the model's outputs are {names}")
    weights = [1.0 if w is None else float(w) for w in _per_output(loss_weights, names, "loss_weights")]
    if isinstance(metrics, dict) or (isinstance(metrics, (list, tuple)) and metrics and len(names) > 1
                                     and all(isinstance(m, (list, tuple)) for m in metrics)):
        per_output = [list(m or []) for m in _per_output(metrics, names, "metrics")]
    else:  # (one list for every output, as Keras applies it)
        per_output = [list(metrics or [])] * len(names)
    per_output = [[M.resolved(m) for m in ms] for ms in per_output]
    model.optimizer = O.get(optimizer)
    model.compiled = Compiled(model.optimizer, [L.get(fn) for fn in losses], weights, per_output, names, backend,
                              {"loss": loss, "metrics": metrics if isinstance(metrics, dict) else list(metrics or []),
                               "backend": backend, "loss_weights": loss_weights})


def _require_compiled(model):
    if model.compiled is None and getattr(model, "deferred_compile", None) is None:
        raise RuntimeError(f"compile {model.name} first: model.compile(optimizer=..., loss=...)")


def _as_list(model, values, names, what):
    """A list of arrays, one per name: `values` as given for a single one, or a list (or a dict
    by name) for several, as Keras takes them."""
    if len(names) == 1 and not (isinstance(values, (list, tuple)) and len(values) == 1
                                    and np.ndim(values[0]) > 0 and not np.isscalar(values[0][0])):
        return [values]
    if isinstance(values, dict):
        missing = [n for n in names if n not in values]
        if missing:
            raise ValueError(f"{model.name}: no {what} given for {missing} (its {what}s are {names})")
        return [values[n] for n in names]
    if not isinstance(values, (list, tuple)) or len(values) != len(names):
        raise ValueError(f"{model.name} has {len(names)} {what}s {names}: give a list (or a dict by name) "
                         f"of {len(names)} arrays")
    return list(values)


def _as_inputs(model, x):
    """x as the compiled functions take it: one array per input, each in its input's dtype."""
    if hasattr(model, "ensure_built"):
        model.ensure_built(x)
    if type(x) is np.ndarray and not model.several_inputs and x.dtype == model.input.dtype:
        return [x]  # (the common call, decided in a microsecond: train_on_batch's overhead counts)
    arrays = []
    for value, variable in zip(_as_list(model, x, [v.name for v in model.inputs], "input"), model.inputs):
        value = np.asarray(value)
        if value.dtype != np.dtype(variable.dtype):
            if value.dtype.kind in "fiu" or np.can_cast(value.dtype, variable.dtype, "safe"):
                value = value.astype(variable.dtype)
        arrays.append(value)
    return arrays


def _target_dtype(dtype):
    """The targets' dtype in the compiled functions: class indices (integer or bool) keep theirs,
    anything else is floatX."""
    return dtype if dtype.kind in "iub" else np.dtype(config.floatX)


def _as_targets(model, y):
    """y as the compiled functions take it, one array per output: float targets cast to floatX,
    as Keras casts them (NumPy's float64 regression targets had raised a TypeError). Other kinds
    are left to the function's own checks, which name what they expect."""
    if type(y) is np.ndarray and not model.several_outputs and y.dtype.kind in "iub":
        return [y]
    arrays = []
    for value in _as_list(model, y, model.output_names, "target"):
        value = np.asarray(value)
        if value.dtype.kind == "f" and value.dtype != _target_dtype(value.dtype):
            value = value.astype(_target_dtype(value.dtype))
        arrays.append(value)
    return arrays


def _check_lengths(xs, ys, what):
    lengths = {len(a) for a in xs + ys}
    if len(lengths) > 1:
        counts = lambda arrays: ", ".join(str(len(a)) for a in arrays)  # noqa: E731
        raise ValueError(f"{what}: {counts(xs)} inputs but {counts(ys)} targets (different numbers of examples)")


def _graph(model, training, y_vars, weights=None):
    """Symbolic inputs, outputs, [total loss, each output's loss (several outputs), metrics...]
    and the trace's context."""
    xs = [Variable(TensorType(v.dtype, v.type.shape), name=v.name if len(model.inputs) > 1 else "x")
          for v in model.inputs]
    outs, context = model.trace(xs if model.several_inputs else xs[0], training)
    outs = outs if model.several_outputs else [outs]
    comp = model.compiled
    losses, metrics = [], []
    for k, (out, y_var) in enumerate(zip(outs, y_vars)):
        if y_var.ndim == out.ndim - 1 and out.type.shape[-1] == 1:
            # (n,) targets for (n, 1) outputs (a sigmoid unit's 0/1 labels): compared row by row, as
            # Keras does, not broadcast into an (n, n) table of every target against every output
            y_var = expand_dims(y_var, -1)
        mask = getattr(out, "keras_mask", None)  # (a sequence output's padding: Embedding(mask_zero=True))
        with name_scope("loss"):
            losses.append(_mean_loss(_masked(comp.losses[k], y_var, out, mask), weights))
        with name_scope("metrics"):
            for fn in comp.metric_fns[k]:
                counting = getattr(fn, "__self__", None)
                if not isinstance(counting, M.CountsMetric):
                    metrics.append(_masked(fn, y_var, out, mask).mean())
                elif mask is not None:
                    raise NotImplementedError(f"{counting.name} counts over whole outputs; this output's steps "
                                              f"are masked (padding)")
                else:  # (the batch's mean counts; their running means make the metric)
                    metrics += [part.mean(axis=0) for part in fn(y_var, out)]
    with name_scope("loss"):
        total = losses[0] if len(losses) == 1 and comp.loss_weights[0] == 1 else \
            sum(w * loss for w, loss in zip(comp.loss_weights, losses))
        for penalty in model.losses + context.losses:  # (regularizers', as Keras's fit and evaluate report them)
            total = total + penalty
    values = [total] + (losses if len(losses) > 1 else []) + metrics
    return xs, outs, values, context


def _masked(fn, y, out, mask):
    """fn(y, out) per example, or, for a sequence output with a (batch, steps) mask, per step
    (the steps taken as examples) with the padded steps' zeroed and the rest scaled by 1 / the
    mask's mean, so that their mean is the real steps' mean (Keras's masked objectives)."""
    if mask is None or mask.ndim != 2 or out.ndim < 3 or y.ndim < 2:
        return fn(y, out)
    n, steps = shape(out)[0], shape(out)[1]

    def steps_as_examples(v):
        return reshape(v, [n * steps] + [shape(v)[a] for a in range(2, v.ndim)])
    per_step = reshape(fn(steps_as_examples(y), steps_as_examples(out)), [n, steps])
    keep = E.cast(mask, per_step.dtype)
    return per_step * keep / keep.mean()


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


def _compiled(model, ys, training, weighted=False):
    """The training or evaluation function for targets like ys (cached per dtype and ndim),
    taking (inputs..., targets...) or, weighted, (inputs..., targets..., sample weights)."""
    comp = model.compiled
    # (keyed by dtype objects, read per train_on_batch call: making a Variable there, which
    # notes the user's line, and reading dtype.name took 19 us a call, 11-16% of a small step)
    key = sum(((_target_dtype(y.dtype), y.ndim) for y in ys), ()) + (weighted,)
    store = comp.train_fns if training else comp.eval_fns
    if key not in store:
        y_vars = [Variable(TensorType(dtype, (None,) * ndim), name="y_true" if len(ys) == 1 else f"y_true_{name}")
                  for dtype, ndim, name in zip(key[0:-1:2], key[1:-1:2], model.output_names)]
        w_var = Variable(TensorType(config.floatX, (None,)), name="sample_weight") if weighted else None
        xs, outs, values, context = _graph(model, training, y_vars, w_var)
        updates = []
        if training:
            params = model.trainable_weights
            if not params:
                raise ValueError(f"{model.name} has no trainable weights (all layers frozen?)")
            updates = comp.optimizer.updates(values[0], params) + context.updates
        store[key] = function(xs + y_vars + ([w_var] if weighted else []), values, updates=updates,
                              backend=comp.backend, name=f"{model.name}_{'train' if training else 'evaluate'}")
    return store[key]


def example_weights(ys, class_weight=None, sample_weight=None):
    """One weight per example (floatX), or None for none given: sample_weight times the weight
    class_weight ({class: weight}, absent classes 1) gives each example's class (an integer
    label, a one-hot row's argmax, or a single 0/1 target). ys: the targets, an array or a list
    of one per output (class_weight needs a single output)."""
    if class_weight is None and sample_weight is None:
        return None
    ys = [ys] if isinstance(ys, np.ndarray) else list(ys)
    weights = np.ones(len(ys[0]))
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != weights.shape:
            raise ValueError(f"sample_weight needs one weight per example ({len(weights)}), got shape "
                             f"{sample_weight.shape}")
        weights *= sample_weight
    if class_weight is not None:
        if len(ys) > 1:
            raise ValueError("class_weight weighs the classes of a single output; with several outputs give "
                             "sample_weight")
        y = np.asarray(ys[0])
        if y.dtype.kind in "iub" or y.ndim == 1 or y.shape[-1] == 1:
            labels = np.rint(y.reshape(len(y), -1)[:, 0]).astype(np.int64)
        else:
            labels = y.reshape(len(y), -1).argmax(axis=1)
        weights *= np.array([float(class_weight.get(int(label), 1.0)) for label in labels])
    return weights.astype(config.floatX)


def train_function(model, y, weighted=False):
    """The compiled training step for targets like y (an array, or a list for several outputs)."""
    return _compiled(model, [np.asarray(t) for t in _as_list(model, y, model.output_names, "target")],
                     training=True, weighted=weighted)


def eval_function(model, ys):
    return _compiled(model, ys, training=False)


def predict_function(model):
    backend = model.compiled.backend if model.compiled else None
    cache = getattr(model, "_predict_fn", None)
    if cache is None or cache[0] != backend:
        xs = [Variable(TensorType(v.dtype, v.type.shape), name=v.name if len(model.inputs) > 1 else "x")
              for v in model.inputs]
        outs, _ = model.trace(xs if model.several_inputs else xs[0], False)
        model._predict_fn = (backend, function(xs, outs, backend=backend, name=f"{model.name}_predict"))
    return model._predict_fn[1]


def _batches(n, batch_size, order=None):
    order = np.arange(n) if order is None else order
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def is_batch_source(x):
    """Whether x gives batches itself (a Sequence, a generator, an iterator, a dataset: tf.data's
    as_numpy_iterator) rather than arrays."""
    return isinstance(x, Sequence) or hasattr(x, "__next__") or hasattr(x, "as_numpy_iterator")


def _source_batches(model, source, steps, what):
    """(xs, ys, weights or None) for each batch a Sequence or a generator gives: steps of them,
    or one pass (len(source)) when steps is None."""
    for batch in _pulled(source, steps, what):
        if not isinstance(batch, tuple) or len(batch) not in (2, 3):
            raise ValueError(f"{what}: each batch must be (x, y) or (x, y, sample_weight), got {type(batch).__name__}")
        xs, ys = _as_inputs(model, batch[0]), _as_targets(model, batch[1])
        _check_lengths(xs, ys, what)
        yield xs, ys, None if len(batch) == 2 else example_weights(ys, None, batch[2])
    if isinstance(source, Sequence):
        source.on_epoch_end()


def evaluate(model, x, y=None, batch_size=256, steps=None):
    _require_compiled(model)
    if is_batch_source(x):
        batches = ((eval_function(model, ys), xs + ys, slice(None)) for xs, ys, _ in
                   _source_batches(model, x, steps, "evaluate"))
    else:
        xs, ys = _as_inputs(model, x), _as_targets(model, y)
        _check_lengths(xs, ys, "evaluate")
        f = eval_function(model, ys)
        batches = ((f, xs + ys, idx) for idx in _batches(len(xs[0]), batch_size))
    totals, count = None, 0
    for f, arrays, idx in batches:
        n = len(arrays[0][idx])
        values = [np.asarray(v, dtype=np.float64) * n for v in f(*[a[idx] for a in arrays])]
        totals = values if totals is None else [t + v for t, v in zip(totals, values)]
        count += n
    means = [t / max(count, 1) for t in totals]
    result = [float(m) for m in means] if model.compiled.report is None else model.compiled.report(means)
    return result[0] if len(result) == 1 else result


_dataset_passes = weakref.WeakKeyDictionary()  # a dataset read `steps` batches an epoch -> its pass so far


def _pulled(source, steps, what):
    """The batches of one pass over a Sequence or a dataset (a new pass each call: each epoch),
    or of `steps` pulls from a generator (or from a dataset's pass, where steps is given)."""
    if hasattr(source, "as_numpy_iterator"):
        if steps is None:
            yield from source.as_numpy_iterator()
            return
        # steps of an endless dataset (repeat()): each epoch goes on where the last one stopped
        # (a pass that ends starts the next)
        batches = _dataset_passes.get(source) or source.as_numpy_iterator()
        _dataset_passes[source] = batches
        for _ in range(steps):
            batch = next(batches, None)
            if batch is None:
                batches = _dataset_passes[source] = source.as_numpy_iterator()
                batch = next(batches, None)
                if batch is None:
                    raise ValueError(f"{what}: the dataset gives no batches")
            yield batch
        return
    if steps is None:
        if not hasattr(source, "__len__"):
            raise ValueError(f"{what}: a generator gives no end of its pass; say how many batches with "
                             f"{'steps_per_epoch' if what == 'fit' else 'steps'}=...")
        steps = len(source)
    for k in range(steps):
        yield source[k] if isinstance(source, Sequence) else next(source)


def predict(model, x, batch_size=256, steps=None):
    if is_batch_source(x):  # (batches of x, or (x, y) whose y is left)
        outs = []
        for batch in _pulled(x, steps, "predict"):
            xs = _as_inputs(model, batch[0] if isinstance(batch, tuple) else batch)
            outs.append(predict_function(model)(*xs))
    else:
        xs = _as_inputs(model, x)
        f = predict_function(model)
        outs = [f(*[a[idx] for a in xs]) for idx in _batches(len(xs[0]), batch_size)]
    if not model.several_outputs:
        return np.concatenate(outs) if outs else np.zeros((0,) + model.output_shape[1:], model.output.dtype)
    return [np.concatenate([batch[k] for batch in outs]) if outs else
            np.zeros((0,) + tuple(v.type.shape[1:]), v.dtype) for k, v in enumerate(model.outputs)]


def predict_on_batch(model, x):
    xs = _as_inputs(model, x)  # (first: it builds a Sequential model on first use)
    return predict_function(model)(*xs)


def _values(values, comp):
    """Keras's return value: the loss alone, or [loss, metric, ...]."""
    values = [float(v) for v in values] if comp.report is None else comp.report(values)
    return values[0] if len(values) == 1 else values


def train_on_batch(model, x, y, sample_weight=None, class_weight=None):
    """One training step on this batch (the compiled function fit runs); the loss and metrics
    before the update, as Keras's train_on_batch."""
    _require_compiled(model)
    xs, ys = _as_inputs(model, x), _as_targets(model, y)
    _check_lengths(xs, ys, "train_on_batch")
    weights = example_weights(ys, class_weight, sample_weight)
    if weights is None:
        return _values(_compiled(model, ys, training=True)(*xs, *ys), model.compiled)
    return _values(_compiled(model, ys, training=True, weighted=True)(*xs, *ys, weights), model.compiled)


def test_on_batch(model, x, y):
    """The loss and metrics on this batch, no update (inference mode: no dropout)."""
    _require_compiled(model)
    xs, ys = _as_inputs(model, x), _as_targets(model, y)
    return _values(eval_function(model, ys)(*xs, *ys), model.compiled)


def fit(model, x, y, epochs, batch_size, validation_data, callbacks, verbose, shuffle, seed,
        validation_split, initial_epoch, class_weight=None, sample_weight=None, steps_per_epoch=None,
        validation_steps=None, validation_freq=1):
    _require_compiled(model)
    if is_batch_source(x):
        if y is not None or sample_weight is not None or validation_split:
            raise ValueError("fit: a generator or Sequence gives the targets (and weights) with each batch; give "
                             "no y, sample_weight or validation_split with it")
        n_steps = steps_per_epoch if steps_per_epoch is not None else (len(x) if hasattr(x, "__len__") else None)
        return _fit_loop(model, lambda epoch: (_source_steps(model, x, steps_per_epoch, class_weight), n_steps),
                         epochs, validation_data, validation_steps, 256, callbacks, verbose, initial_epoch,
                         validation_freq)
    xs, ys = _as_inputs(model, x), _as_targets(model, y)
    _check_lengths(xs, ys, "fit")
    weights = example_weights(ys, class_weight, sample_weight)
    if validation_split and validation_data is None:
        cut = int(len(xs[0]) * (1 - validation_split))
        validation_data = ([a[cut:] for a in xs], [a[cut:] for a in ys])
        xs, ys = [a[:cut] for a in xs], [a[:cut] for a in ys]
        weights = None if weights is None else weights[:cut]
        if not model.several_inputs:
            validation_data = (validation_data[0][0], validation_data[1])
        if not model.several_outputs:
            validation_data = (validation_data[0], validation_data[1][0])
    train = _compiled(model, ys, training=True, weighted=weights is not None)
    arrays = xs + ys + ([] if weights is None else [weights])
    if len(arrays) == 2:  # (one input, one target: the common case called without a list)
        x0, y0 = arrays
        step = lambda idx: train(x0[idx], y0[idx])  # noqa: E731
    else:
        step = lambda idx: train(*[a[idx] for a in arrays])  # noqa: E731
    rng = np.random.default_rng(seed)

    def epoch_steps(epoch):
        order = rng.permutation(len(xs[0])) if shuffle else None
        return ((step(idx), len(idx)) for idx in _batches(len(xs[0]), batch_size, order)), -(-len(xs[0]) // batch_size)
    return _fit_loop(model, epoch_steps, epochs, validation_data, validation_steps, max(batch_size, 256), callbacks,
                     verbose, initial_epoch, validation_freq)


def _source_steps(model, source, steps, class_weight):
    """(values, examples) of each training step on the batches a Sequence or a generator gives."""
    for xs, ys, weights in _source_batches(model, source, steps, "fit"):
        if class_weight is not None:
            weights = example_weights(ys, class_weight, weights)
        train = _compiled(model, ys, training=True, weighted=weights is not None)
        values = train(*xs, *ys) if weights is None else train(*xs, *ys, weights)
        yield values, len(xs[0])


def _fit_loop(model, epoch_steps, epochs, validation_data, validation_steps, validation_batch, callbacks, verbose,
              initial_epoch, validation_freq=1):
    """fit's epochs: epoch_steps(epoch) -> (that epoch's training steps, yielding (values, examples)
    each, and how many there are, or None). validation_freq: validate every that many epochs,
    or after the epochs (counted from 1) in a list, as Keras's."""
    if isinstance(validation_freq, int) and validation_freq < 1:
        raise ValueError(f"fit: validation_freq is an int >= 1 or a list of epochs, got {validation_freq}")
    history = History()
    callbacks = list(callbacks or []) + [history]  # (last, as Keras's: it records what the others log, "lr")
    for cb in callbacks:
        cb.set_model(model)
        if hasattr(cb, "set_params"):
            cb.set_params({"epochs": epochs, "verbose": verbose, "do_validation": validation_data is not None})
    names = ["loss"] + model.compiled.metric_names
    model.stop_training = False
    for cb in callbacks:
        cb.on_train_begin({})
    for epoch in range(initial_epoch, epochs):
        for cb in callbacks:
            cb.on_epoch_begin(epoch, {})
        steps, n_steps = epoch_steps(epoch)
        logs = _run_epoch(model, steps, n_steps, names, callbacks, f"Epoch {epoch + 1}/{epochs}", verbose)
        due = (epoch + 1) % validation_freq == 0 if isinstance(validation_freq, int) \
            else epoch + 1 in validation_freq
        if validation_data is not None and due:
            if is_batch_source(validation_data):
                values = evaluate(model, validation_data, steps=validation_steps)
            else:
                values = evaluate(model, validation_data[0], validation_data[1], batch_size=validation_batch)
            values = values if isinstance(values, list) else [values]
            logs.update({f"val_{n}": v for n, v in zip(names, values)})
        if verbose:  # (the bar goes; its epoch's line stays, as Keras's)
            print(f"Epoch {epoch + 1}/{epochs} - " + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()
                                                                 if k != "seconds"))
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end({})
    return history


def _run_epoch(model, steps, n_steps, names, callbacks, title, verbose):
    """Run an epoch's steps ((values, examples) each; n_steps of them, or None: not known),
    keeping the running means as logs."""
    from tqdm import tqdm
    bar = tqdm(total=n_steps, desc=title, unit="batch", leave=False, disable=verbose != 1, dynamic_ncols=True)
    report = model.compiled.report
    if report is not None:  # (a metric of counts: its values are arrays, reported through `report`)
        steps = (([np.asarray(v, dtype=np.float64) for v in values], n) for values, n in steps)
        sums = None
    else:
        sums = [0.0] * len(names)
    count = 0
    # Per-batch logs only for callbacks that read them and for a visible bar: building and
    # formatting them took 20 us a batch, as long as a small model's whole step.
    listeners = [cb for cb in callbacks if cb.wants_batch_logs()]
    shown = not bar.disable
    start = time.perf_counter()
    for b, (values, n) in enumerate(steps):
        if sums is None:
            sums = [v * 0.0 for v in values]
        for k, v in enumerate(values):
            sums[k] += v * n if report is not None else float(v) * n
        count += n
        if listeners or shown:
            logs = _logs(names, sums, count, report)
            for cb in listeners:
                cb.on_batch_end(b, logs)
            if shown:
                bar.update(1)
                bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)
            if model.stop_training:  # (a callback stopped it: TerminateOnNaN)
                break
    bar.close()
    logs = _logs(names, sums, max(count, 1), report) if sums is not None else dict.fromkeys(names, 0.0)
    logs["seconds"] = time.perf_counter() - start
    return logs


def _logs(names, sums, count, report):
    means = [total / count for total in sums]
    return dict(zip(names, means if report is None else report(means)))
