"""Callbacks for Model.fit, as Keras's: EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
learning-rate schedules (StepDecay is Caffe's solver `lr_policy: "step"`: lr = base_lr * gamma **
floor(epoch / step_size)), CSVLogger, TensorBoard, TerminateOnNaN and LambdaCallback."""
import csv
import math
import os

import numpy as np


class Callback:
    model = None
    params = {}  # (fit's: epochs, verbose, do_validation; Keras's callback.params)

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    def wants_batch_logs(self):
        """Whether fit must make per-batch logs for this callback (they cost as much as a small step)."""
        return type(self).on_batch_end is not Callback.on_batch_end


def _better(mode, monitor):
    if mode == "auto":
        mode = "max" if "acc" in monitor else "min"
    return (lambda a, b: a > b) if mode == "max" else (lambda a, b: a < b)


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by min_delta for `patience` epochs."""

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto", restore_best_weights=False):
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(min_delta)
        self.better = _better(mode, monitor)
        self.sign = 1 if self.better(1, 0) else -1
        self.restore_best_weights = restore_best_weights
        self.stopped_epoch = None

    def on_train_begin(self, logs=None):
        self.wait, self.best, self.best_weights = 0, None, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None and _missing_validation(self, logs or {}):
            return
        if value is None:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, which this fit does not log "
                           f"(it logs {sorted(logs or {})})")
        if self.best is None or self.better(value - self.sign * self.min_delta, self.best):
            self.best, self.wait = value, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.model.stop_training = True
            self.stopped_epoch = epoch
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model after each epoch, or only when `monitor` improves, as Keras's: the whole
    model (model.save: sg.layers.load_model reads it, load_weights too), or with
    save_weights_only its weights (save_weights). filepath may contain {epoch} and any logged
    value, e.g. 'ckpt-{epoch:02d}-{val_loss:.3f}.keras'; period (Keras 2's) saves every that
    many epochs."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", period=1):
        if save_freq != "epoch":
            raise NotImplementedError("ModelCheckpoint saves after epochs (save_freq='epoch'; period=n for every n)")
        self.filepath, self.monitor, self.save_best_only = str(filepath), monitor, save_best_only
        self.verbose, self.save_weights_only, self.period = verbose, bool(save_weights_only), int(period)
        self.better = _better(mode, monitor)
        self.best = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if (epoch + 1) % self.period:
            return
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None or (self.best is not None and not self.better(value, self.best)):
                return
            if self.verbose:
                print(f"Epoch {epoch + 1:05d}: {self.monitor} improved from {self.best} to {value:.5f}, "
                      f"saving model to {path}")
            self.best = value
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


def _missing_validation(callback, logs):
    """Whether the callback's monitor is a validation value in an epoch of a fit that validates,
    but not this epoch (validation_freq): it waits for the next, as Keras's."""
    return callback.params.get("do_validation", False) and callback.monitor.startswith("val_") \
        and not any(k.startswith("val_") for k in logs)


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate from schedule(epoch, current_lr) before each epoch."""

    def __init__(self, schedule):
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        opt.learning_rate = float(self.schedule(epoch, opt.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = self.model.optimizer.learning_rate  # (Keras's log of the rate used)


class StepDecay(LearningRateScheduler):
    """Caffe's lr_policy "step": base_lr * gamma ** floor(epoch / step_size)."""

    def __init__(self, base_lr, gamma=0.1, step_size=10):
        self.base_lr, self.gamma, self.step_size = base_lr, gamma, step_size
        super().__init__(lambda epoch, lr: base_lr * gamma ** math.floor(epoch / step_size))


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` when `monitor` has not improved by min_delta for
    `patience` epochs, then wait `cooldown` epochs before counting again; never below min_lr."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0):
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be below 1, got {factor}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, float(factor), int(patience), verbose
        self.min_delta, self.cooldown, self.min_lr = abs(min_delta), int(cooldown), float(min_lr)
        self.better = _better(mode, monitor)
        self.sign = 1 if self.better(1, 0) else -1

    def on_train_begin(self, logs=None):
        self.wait, self.cooldown_left, self.best = 0, 0, None

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = self.model.optimizer.learning_rate  # (Keras's log of the rate used)
        value = (logs or {}).get(self.monitor)
        if value is None and _missing_validation(self, logs or {}):
            return
        if value is None:
            raise KeyError(f"ReduceLROnPlateau monitors {self.monitor!r}, which this fit does not log "
                           f"(it logs {sorted(logs or {})})")
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if self.best is None or self.better(value - self.sign * self.min_delta, self.best):
            self.best, self.wait = value, 0
        elif self.cooldown_left == 0:
            self.wait += 1
            if self.wait >= self.patience:
                optimizer = self.model.optimizer
                old = optimizer.learning_rate
                if old > self.min_lr:
                    optimizer.learning_rate = max(old * self.factor, self.min_lr)
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {optimizer.learning_rate:g}.")
                self.cooldown_left, self.wait = self.cooldown, 0


class CSVLogger(Callback):
    """Write each epoch's logs (loss, metrics, validation values, seconds) as a CSV row."""

    def __init__(self, filename, separator=",", append=False):
        self.filename, self.separator, self.append = str(filename), separator, append

    def on_train_begin(self, logs=None):
        resume = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.writer, self.keys, self.header_written = None, None, resume

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.writer is None:
            self.keys = sorted(logs)
            if not any(k.startswith("val_") for k in self.keys):  # (fit's validation_freq > 1: not yet)
                self.keys += [f"val_{k}" for k in self.keys if k not in ("lr", "seconds")]
            self.writer = csv.writer(self.file, delimiter=self.separator)
            if not self.header_written:
                self.writer.writerow(["epoch"] + self.keys)
        self.writer.writerow([epoch] + [logs.get(k, "NA") for k in self.keys])
        self.file.flush()

    def on_train_end(self, logs=None):
        self.file.close()


class TensorBoard(Callback):
    """Keras's TensorBoard callback: the logs TensorBoard plots, in Keras's layout: each epoch's
    loss and metrics as epoch_loss, epoch_accuracy... in log_dir/train, the validation ones
    (val_ dropped) in log_dir/validation; update_freq "batch" or N: batch_loss... every N batches
    too; histogram_freq N: each weight's histogram every N epochs; write_graph: the training
    step's graph (its nodes grouped by the layers' scopes) for the Graphs tab. The files are
    TensorFlow's event files (sg.compat.v1's FileWriter)."""

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False, update_freq="epoch",
                 **unused):
        self.log_dir, self.histogram_freq, self.write_graph = str(log_dir), int(histogram_freq), write_graph
        if update_freq not in ("epoch", "batch") and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f"TensorBoard: update_freq is 'epoch', 'batch' or a number of batches, got "
                             f"{update_freq!r}")
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self._writers, self._batches, self._graph_written = {}, 0, False

    def wants_batch_logs(self):
        return self.update_freq != "epoch"

    def _writer(self, run):
        if run not in self._writers:
            from .compat.v1.summary import FileWriter
            self._writers[run] = FileWriter(os.path.join(self.log_dir, run))
        return self._writers[run]

    def _scalars(self, run, logs, prefix, step):
        from .compat.v1.summary import Summary
        values = [Summary.Value(tag=f"{prefix}{'learning_rate' if name == 'lr' else name}", simple_value=float(value))
                  for name, value in logs.items() if name != "seconds" and np.ndim(value) == 0]
        if values:
            self._writer(run).add_summary(Summary(value=values), step)

    def on_train_begin(self, logs=None):
        self._batches = 0

    def on_batch_end(self, batch, logs=None):
        self._batches += 1
        if self._batches % self.update_freq == 0:
            self._scalars("train", logs or {}, "batch_", self._batches)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self._scalars("train", {k: v for k, v in logs.items() if not k.startswith("val_")}, "epoch_", epoch)
        self._scalars("validation", {k[4:]: v for k, v in logs.items() if k.startswith("val_")}, "epoch_", epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            from .compat.v1.summary import Summary, histogram_proto
            values = [Summary.Value(tag=weight.name or f"weight_{k}", histo=histogram_proto(weight.get_value()))
                      for k, weight in enumerate(self.model.weights)]
            self._writer("train").add_summary(Summary(value=values), epoch)
        if self.write_graph and not self._graph_written:
            self._write_graph()

    def _write_graph(self):
        """The first compiled training step's graph, as written (the layers' scopes kept)."""
        compiled = getattr(self.model, "compiled", None)
        functions = list(getattr(compiled, "train_fns", {}).values())
        if functions:
            from .compat.v1.graph_def import graph_def_of
            self._writer("train").add_graph(None, graph_def=graph_def_of(functions[0], optimized=False))
            self._graph_written = True

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose running loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from functions: on_epoch_begin(epoch, logs), on_epoch_end(epoch, logs),
    on_batch_end(batch, logs), on_train_begin(logs), on_train_end(logs); any may be left out."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_end=None, on_train_begin=None,
                 on_train_end=None):
        nothing = lambda *args: None  # noqa: E731
        self.on_epoch_begin = on_epoch_begin or nothing
        self.on_epoch_end = on_epoch_end or nothing
        self.on_batch_end = on_batch_end or nothing
        self.on_train_begin = on_train_begin or nothing
        self.on_train_end = on_train_end or nothing
        self.batch_logs = on_batch_end is not None

    def wants_batch_logs(self):
        return self.batch_logs


class History(Callback):
    """Model.fit's result: .history maps each logged name to its per-epoch values."""

    def on_train_begin(self, logs=None):
        self.epoch, self.history = [], {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(np.asarray(value)))
