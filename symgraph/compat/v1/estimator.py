"""tf.estimator: TensorFlow 1's Estimator over this package's graph mode. model_fn(features,
labels, mode, params, config) builds a graph and returns an EstimatorSpec; train, evaluate and
predict each build it anew in a graph of their own from input_fn's dataset (or tensors), restore
the latest checkpoint of model_dir (tf.train.Saver's files), and train saves one at its end:

    classifier = tf.estimator.Estimator(model_fn=cnn_model_fn, model_dir="/tmp/mnist_convnet_model")
    train_input_fn = tf.estimator.inputs.numpy_input_fn(x={"x": train_data}, y=train_labels,
                                                        batch_size=100, num_epochs=None, shuffle=True)
    classifier.train(input_fn=train_input_fn, steps=2000, hooks=[logging_hook])
    print(classifier.evaluate(input_fn=eval_input_fn))   # {"accuracy": ..., "loss": ..., "global_step": ...}

The canned estimators (DNNClassifier, LinearRegressor...) are in canned.py; hooks (LoggingTensorHook,
StopAtStepHook, a SessionRunHook of one's own) in hooks.py. What differs: checkpoints are saved
at the end of train (and every save_checkpoints_steps), not by time; no distribution strategies,
warm starts, saving listeners or SavedModel export."""
import inspect
import os
import tempfile
import types

import numpy as np

from . import data as data_module, summary as summary_module
from .app import logging
from .errors import OutOfRangeError
from .hooks import run_with_hooks
from .session import Session
from .variables import Graph, global_variables, global_variables_initializer, local_variables_initializer, \
    set_random_seed

ModeKeys = types.SimpleNamespace(TRAIN="train", EVAL="eval", PREDICT="infer")


class EstimatorSpec:
    """What model_fn returns: the mode's tensors (predictions; loss and train_op to train; loss and
    eval_metric_ops, {name: (value, update_op)}, to evaluate)."""

    def __init__(self, mode, predictions=None, loss=None, train_op=None, eval_metric_ops=None, export_outputs=None,
                 training_chief_hooks=None, training_hooks=None, scaffold=None, evaluation_hooks=None,
                 prediction_hooks=None):
        if mode == ModeKeys.TRAIN and (loss is None or train_op is None):
            raise ValueError("EstimatorSpec: training needs loss and train_op")
        if mode == ModeKeys.EVAL and loss is None:
            raise ValueError("EstimatorSpec: evaluation needs loss")
        if mode == ModeKeys.PREDICT and predictions is None:
            raise ValueError("EstimatorSpec: prediction needs predictions")
        self.mode, self.predictions, self.loss, self.train_op = mode, predictions, loss, train_op
        self.eval_metric_ops = dict(eval_metric_ops or {})
        self.training_hooks = list(training_chief_hooks or []) + list(training_hooks or [])
        self.evaluation_hooks, self.prediction_hooks = list(evaluation_hooks or []), list(prediction_hooks or [])


class RunConfig:
    def __init__(self, model_dir=None, tf_random_seed=None, save_summary_steps=100, save_checkpoints_steps=None,
                 save_checkpoints_secs=None, keep_checkpoint_max=5, log_step_count_steps=100, **unused):
        self.model_dir, self.tf_random_seed = model_dir, tf_random_seed
        self.save_summary_steps, self.save_checkpoints_steps = save_summary_steps, save_checkpoints_steps
        self.log_step_count_steps = log_step_count_steps

    def replace(self, **changes):
        config = RunConfig()
        config.__dict__.update(self.__dict__, **changes)
        return config


class Estimator:
    def __init__(self, model_fn, model_dir=None, config=None, params=None, warm_start_from=None):
        if warm_start_from is not None:
            raise NotImplementedError("Estimator: warm_start_from is not supported; restore the variables in "
                                      "model_fn (tf.train.Saver) or copy the checkpoint into model_dir")
        self._model_fn, self.params = model_fn, dict(params or {})
        self.config = config or RunConfig()
        self.model_dir = model_dir or self.config.model_dir or tempfile.mkdtemp()
        if self.config.model_dir is None:
            self.config = self.config.replace(model_dir=self.model_dir)
        os.makedirs(self.model_dir, exist_ok=True)
        self._accepts = set(inspect.signature(model_fn).parameters)

    # -- building ---------------------------------------------------------------------------

    def _call_model_fn(self, features, labels, mode):
        kwargs = {"features": features, "labels": labels, "mode": mode, "params": self.params, "config": self.config}
        spec = self._model_fn(**{k: v for k, v in kwargs.items() if k in self._accepts})
        if not isinstance(spec, EstimatorSpec):
            raise TypeError(f"model_fn must return an EstimatorSpec, got {type(spec).__name__}")
        return spec

    def _inputs(self, input_fn, mode):
        """(features, labels) of input_fn: a dataset's next element, or the tensors it returns."""
        kwargs = {k: v for k, v in {"mode": mode, "params": self.params, "config": self.config}.items()
                  if k in inspect.signature(input_fn).parameters}
        made = input_fn(**kwargs)
        if isinstance(made, data_module.Dataset):
            made = made.make_one_shot_iterator().get_next()
        if isinstance(made, (tuple, list)) and len(made) == 2:
            return made[0], made[1]
        return made, None

    def _graph(self, input_fn, mode):
        """A new graph with the model for `mode`, its global step, and a session with the latest
        checkpoint restored (the variables' initializers run where there is none)."""
        from .train import Saver, get_or_create_global_step, latest_checkpoint
        graph = Graph()
        context = graph.as_default()
        context.__enter__()
        try:
            if self.config.tf_random_seed is not None:
                set_random_seed(self.config.tf_random_seed)
            step = get_or_create_global_step()
            features, labels = self._inputs(input_fn, mode)
            spec = self._call_model_fn(features, labels, mode)
            summaries = None
            if mode == ModeKeys.TRAIN:  # (TensorFlow's Estimator adds the loss's summary to the model's)
                summary_module.scalar("loss", spec.loss)
                summaries = summary_module.merge_all()
            saver = Saver(global_variables())  # (this graph's, whatever graph is the default when it saves)
            session = Session(graph=graph)
            session.run(global_variables_initializer())
            session.run(local_variables_initializer())
            checkpoint = latest_checkpoint(self.model_dir)
            if checkpoint is not None:
                saver.restore(session, checkpoint)
        except BaseException:
            context.__exit__(None, None, None)  # (a model_fn that failed leaves the default graph as it was)
            raise
        return types.SimpleNamespace(graph=graph, context=context, spec=spec, step=step, saver=saver, session=session,
                                     summaries=summaries, entered=True)

    def _leave(self, built):
        """The caller's default graph back (the built graph's session still runs it)."""
        if built.entered:
            built.entered = False
            built.context.__exit__(None, None, None)

    def _close(self, built):
        built.session.close()
        self._leave(built)

    # -- training -----------------------------------------------------------------------------

    def train(self, input_fn, hooks=None, steps=None, max_steps=None, saving_listeners=None):
        """Runs train_op until input_fn's data ends, `steps` more steps, or global step max_steps;
        logs the loss every log_step_count_steps, writes the summaries (the loss's among them)
        every save_summary_steps to model_dir's event file, and saves a checkpoint at the end."""
        if steps is not None and max_steps is not None:
            raise ValueError("train: give steps or max_steps, not both")
        if saving_listeners:
            raise NotImplementedError("train: saving_listeners are not supported")
        built = self._graph(input_fn, ModeKeys.TRAIN)
        writer = None
        try:
            session, spec = built.session, built.spec
            start = step = int(session.run(built.step))
            if max_steps is not None and start >= max_steps:
                logging.info("Skipping training since max_steps has already saved.")
                return self
            last = start + steps if steps is not None else max_steps
            hooks = list(hooks or []) + spec.training_hooks
            for hook in hooks:
                hook.begin()
            for hook in hooks:
                hook.after_create_session(session, None)
            writer = summary_module.FileWriter(self.model_dir, built.graph)
            loss = float("nan")
            while last is None or step < last:
                fetches = [spec.train_op, spec.loss]
                due = step % self.config.save_summary_steps == 0
                try:
                    values, stop = run_with_hooks(session, hooks, fetches + [built.summaries] if due else fetches)
                except OutOfRangeError:
                    break
                counted = int(built.step.get_value())  # (a train_op that does not count steps: counted here)
                loss, step = float(values[1]), counted if counted > step else step + 1
                if not np.isfinite(loss):
                    raise RuntimeError(f"Model diverged with loss = NaN (step {step})")
                if due:
                    writer.add_summary(values[2], step)
                if step % self.config.log_step_count_steps == 1 or self.config.log_step_count_steps == 1:
                    logging.info("loss = %g, step = %d", loss, step)
                if self.config.save_checkpoints_steps and step % self.config.save_checkpoints_steps == 0:
                    built.saver.save(session, os.path.join(self.model_dir, "model.ckpt"), global_step=step)
                if stop:
                    break
            for hook in hooks:
                hook.end(session)
            path = built.saver.save(session, os.path.join(self.model_dir, "model.ckpt"), global_step=step)
            logging.info("Saving checkpoints for %d into %s.", step, path)
            logging.info("Loss for final step: %g.", loss)
        finally:
            if writer is not None:
                writer.close()
            self._close(built)
        return self

    # -- evaluation ---------------------------------------------------------------------------

    def evaluate(self, input_fn, steps=None, hooks=None, checkpoint_path=None, name=None):
        """The metrics' values after every batch of input_fn (or `steps` of them), with "loss"
        (the mean of the batches' losses) and "global_step"."""
        built = self._graph_for_checkpoint(input_fn, ModeKeys.EVAL, checkpoint_path)
        try:
            session, spec = built.session, built.spec
            metrics = dict(spec.eval_metric_ops)
            updates = [update for _, update in metrics.values()]
            hooks = list(hooks or []) + spec.evaluation_hooks
            for hook in hooks:
                hook.begin()
                hook.after_create_session(session, None)
            losses, n = [], 0
            while steps is None or n < steps:
                try:
                    (loss, _), stop = run_with_hooks(session, hooks, [spec.loss, updates])
                except OutOfRangeError:
                    break
                losses.append(float(loss))
                n += 1
                if stop:
                    break
            for hook in hooks:
                hook.end(session)
            results = {key: session.run(value) for key, (value, _) in metrics.items()}
            results["loss"] = np.float32(np.mean(losses)) if losses else np.float32(np.nan)
            results["global_step"] = int(session.run(built.step))
            logging.info("Saving dict for global step %d: %s", results["global_step"],
                         ", ".join(f"{k} = {v}" for k, v in sorted(results.items())))
            return results
        finally:
            self._close(built)

    def _graph_for_checkpoint(self, input_fn, mode, checkpoint_path):
        from .train import latest_checkpoint
        if checkpoint_path is None and latest_checkpoint(self.model_dir) is None:
            raise ValueError(f"Could not find trained model in model_dir: {self.model_dir}, running initialization "
                             f"to {'evaluate' if mode == ModeKeys.EVAL else 'predict'}: train first")
        built = self._graph(input_fn, mode)
        if checkpoint_path is not None:
            try:
                built.saver.restore(built.session, checkpoint_path)
            except BaseException:
                self._close(built)
                raise
        return built

    # -- prediction ---------------------------------------------------------------------------

    def predict(self, input_fn, predict_keys=None, hooks=None, checkpoint_path=None, yield_single_examples=True):
        """The predictions of each example (a dict, or an array for a single tensor), batch after
        batch until input_fn's data ends."""
        built = self._graph_for_checkpoint(input_fn, ModeKeys.PREDICT, checkpoint_path)
        self._leave(built)  # (the caller's code between the predictions builds into its own graph)
        try:
            session, predictions = built.session, built.spec.predictions
            if isinstance(predictions, dict) and predict_keys is not None:
                predictions = {k: v for k, v in predictions.items() if k in predict_keys}
            while True:
                try:
                    batch = session.run(predictions)
                except OutOfRangeError:
                    return
                batch = self._finish_predictions(batch)
                if not yield_single_examples:
                    yield batch
                elif isinstance(batch, dict):
                    count = len(next(iter(batch.values())))
                    for k in range(count):
                        yield {key: value[k] for key, value in batch.items()}
                else:
                    yield from batch
        finally:
            self._close(built)

    def _finish_predictions(self, batch):
        return batch

    # -- what the checkpoints hold ---------------------------------------------------------

    def latest_checkpoint(self):
        from .train import latest_checkpoint
        return latest_checkpoint(self.model_dir)

    def get_variable_names(self):
        with np.load(self._checkpoint_file()) as stored:
            return sorted(stored.files)

    def get_variable_value(self, name):
        with np.load(self._checkpoint_file()) as stored:
            return stored[name]

    def _checkpoint_file(self):
        checkpoint = self.latest_checkpoint()
        if checkpoint is None:
            raise ValueError(f"no checkpoint in {self.model_dir}: train first")
        return checkpoint + ".npz"


def numpy_input_fn(x, y=None, batch_size=128, num_epochs=1, shuffle=None, queue_capacity=1000, num_threads=1):
    """An input_fn of arrays: x a dict of feature arrays (or one array), y the labels; batches of
    batch_size, num_epochs passes (None: without end), shuffled where shuffle is True."""
    if shuffle is None:
        raise ValueError("numpy_input_fn: shuffle must be given (True or False), as TensorFlow asks")

    def input_fn():
        tensors = (x, y) if y is not None else x
        dataset = data_module.Dataset.from_tensor_slices(tensors)
        if shuffle:
            dataset = dataset.shuffle(queue_capacity)
        dataset = dataset.repeat(num_epochs).batch(batch_size)
        return dataset
    return input_fn


inputs = types.SimpleNamespace(numpy_input_fn=numpy_input_fn)
