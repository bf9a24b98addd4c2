"""tf.train.MonitoredTrainingSession: TensorFlow 1's training loop of hooks (cifar10_train.py's):

    with tf.train.MonitoredTrainingSession(checkpoint_dir=train_dir, hooks=[
            tf.train.StopAtStepHook(last_step=max_steps), tf.train.NanTensorHook(loss), LoggerHook()]) as sess:
        while not sess.should_stop():
            sess.run(train_op)

The session starts from checkpoint_dir's latest checkpoint (the variables' initializers run where
there is none), runs every hook around each run, saves checkpoints (CheckpointSaverHook: every
save_checkpoint_steps, or secs, and at the end) and summaries (SummarySaverHook), and ends the
`with` block quietly when a hook asks to stop or the data ends (tf.errors.OutOfRangeError)."""
import os
import time

import numpy as np

from .app import logging
from .errors import OutOfRangeError
from .hooks import SessionRunArgs, SessionRunHook, run_with_hooks
from .session import Session
from .variables import get_default_graph, global_variables_initializer, local_variables_initializer


class NanLossDuringTrainingError(RuntimeError):
    def __str__(self):
        return "NaN loss during training."


def _global_step():
    from .train import get_global_step
    step = get_global_step()
    if step is None:
        raise RuntimeError("this hook needs a global step: tf.train.get_or_create_global_step() before the session")
    return step


class NanTensorHook(SessionRunHook):
    """Fails (or, fail_on_nan_loss=False, stops) when the loss is NaN."""

    def __init__(self, loss_tensor, fail_on_nan_loss=True):
        self.loss_tensor, self.fail_on_nan_loss = loss_tensor, fail_on_nan_loss

    def before_run(self, run_context):
        return SessionRunArgs(self.loss_tensor)

    def after_run(self, run_context, run_values):
        if np.isnan(run_values.results):
            if self.fail_on_nan_loss:
                raise NanLossDuringTrainingError()
            logging.warning("Model diverged with loss = NaN.")
            run_context.request_stop()


class CheckpointSaverHook(SessionRunHook):
    """Saves checkpoint_dir/model.ckpt-<global step> when the session starts, every save_steps
    steps (or save_secs seconds) and at the end."""

    def __init__(self, checkpoint_dir, save_secs=None, save_steps=None, saver=None, checkpoint_basename="model.ckpt",
                 scaffold=None, listeners=None):
        if (save_secs is None) == (save_steps is None):
            raise ValueError("CheckpointSaverHook: give one of save_secs and save_steps")
        self.checkpoint_dir, self.save_secs, self.save_steps = checkpoint_dir, save_secs, save_steps
        self._saver, self._path = saver, os.path.join(checkpoint_dir, checkpoint_basename)

    def begin(self):
        from .train import Saver
        os.makedirs(self.checkpoint_dir, exist_ok=True)
        self._step_tensor, self._saver = _global_step(), self._saver or Saver()

    def after_create_session(self, session, coord):
        self._save(session)

    def before_run(self, run_context):
        return SessionRunArgs(self._step_tensor)

    def after_run(self, run_context, run_values):
        step = int(run_values.results) + 1  # (the step's value before the step's update)
        due = step - self._saved_at >= self.save_steps if self.save_steps else \
            time.monotonic() - self._saved_time >= self.save_secs
        if due:
            self._save(run_context.session, step)

    def end(self, session):
        self._save(session)

    def _save(self, session, step=None):
        step = int(session.run(self._step_tensor)) if step is None else step
        self._saver.save(session, self._path, global_step=step)
        self._saved_at, self._saved_time = step, time.monotonic()
        logging.info("Saving checkpoints for %d into %s.", step, self._path)


class SummarySaverHook(SessionRunHook):
    """Writes summary_op's summaries (tf.summary.merge_all() by default) to output_dir every
    save_steps steps (or save_secs seconds), at the global step."""

    def __init__(self, save_steps=None, save_secs=None, output_dir=None, summary_writer=None, scaffold=None,
                 summary_op=None):
        if (save_secs is None) == (save_steps is None):
            raise ValueError("SummarySaverHook: give one of save_secs and save_steps")
        self.save_steps, self.save_secs, self.output_dir = save_steps, save_secs, output_dir
        self._writer, self._summary_op = summary_writer, summary_op

    def begin(self):
        from .summary import FileWriter, merge_all
        self._summary_op = self._summary_op if self._summary_op is not None else merge_all()
        if self._writer is None and self._summary_op is not None:
            self._writer = FileWriter(self.output_dir, get_default_graph())
        self._step_tensor, self._last_step, self._last_time = _global_step(), None, None

    def before_run(self, run_context):
        if self._summary_op is None:
            return None
        self._due = self._last_step is None or (
            self.save_steps is not None and self._next_step >= self._last_step + self.save_steps) or (
            self.save_secs is not None and time.monotonic() - self._last_time >= self.save_secs)
        return SessionRunArgs([self._step_tensor, self._summary_op] if self._due else [self._step_tensor])

    @property
    def _next_step(self):
        return int(self._step_tensor.get_value())

    def after_run(self, run_context, run_values):
        if self._summary_op is not None and self._due:
            step, summary = run_values.results
            self._writer.add_summary(summary, int(step))
            self._last_step, self._last_time = int(step), time.monotonic()

    def end(self, session):
        if self._writer is not None:
            self._writer.flush()


class StepCounterHook(SessionRunHook):
    """Logs the steps run a second, every every_n_steps steps."""

    def __init__(self, every_n_steps=100, every_n_secs=None, output_dir=None, summary_writer=None):
        self.every_n_steps = every_n_steps

    def begin(self):
        self._start, self._count = None, 0

    def after_run(self, run_context, run_values):
        now = time.monotonic()
        if self._start is None:
            self._start = now
        self._count += 1
        if self._count % self.every_n_steps == 0:
            logging.info("global_step/sec: %g", self.every_n_steps / max(now - self._start, 1e-9))
            self._start = now


class MonitoredSession:
    """A session whose runs go through the hooks, that starts from a checkpoint when there is one
    and stops when a hook asks to or the data ends (the `with` block ends quietly then)."""

    def __init__(self, session_creator=None, hooks=None, stop_grace_period_secs=120, checkpoint_dir=None):
        self._hooks = list(hooks or [])
        self.graph = get_default_graph()
        for hook in self._hooks:
            hook.begin()
        self._session = Session(graph=self.graph)
        self._session.run(global_variables_initializer())
        self._session.run(local_variables_initializer())
        checkpoint_dir = checkpoint_dir or getattr(session_creator, "checkpoint_dir", None)
        if checkpoint_dir is not None:
            from .train import Saver, latest_checkpoint
            latest = latest_checkpoint(checkpoint_dir)
            if latest is not None:
                Saver().restore(self._session, latest)
                logging.info("Restoring parameters from %s", latest)
        for hook in self._hooks:
            hook.after_create_session(self._session, None)
        self._stop, self._closed = False, False

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        if self._closed:
            raise RuntimeError("Run called on a closed MonitoredSession")
        try:
            values, stop = run_with_hooks(self._session, self._hooks, fetches, feed_dict)
        except OutOfRangeError:
            self._stop = True
            raise
        self._stop = self._stop or stop
        return values

    def should_stop(self):
        return self._stop

    def close(self):
        if not self._closed:
            self._closed = True
            for hook in self._hooks:
                hook.end(self._session)
            self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        self.close()
        return kind is OutOfRangeError or kind is StopIteration


SingularMonitoredSession = MonitoredSession


class ChiefSessionCreator:
    def __init__(self, scaffold=None, master="", config=None, checkpoint_dir=None, checkpoint_filename_with_path=None):
        self.checkpoint_dir = checkpoint_dir


def MonitoredTrainingSession(master="", is_chief=True, checkpoint_dir=None, scaffold=None, hooks=None,
                             chief_only_hooks=None, save_checkpoint_secs=600, save_summaries_steps=100,
                             save_summaries_secs=None, config=None, stop_grace_period_secs=120,
                             log_step_count_steps=100, max_wait_secs=7200, save_checkpoint_steps=None,
                             summary_dir=None):
    """A MonitoredSession with TensorFlow's default hooks where checkpoint_dir is given: a
    checkpoint every save_checkpoint_steps (or save_checkpoint_secs), summaries every
    save_summaries_steps, the steps a second logged."""
    hooks = list(hooks or []) + list(chief_only_hooks or [])
    if checkpoint_dir is not None:
        if save_checkpoint_steps or save_checkpoint_secs:
            hooks.append(CheckpointSaverHook(checkpoint_dir, save_secs=None if save_checkpoint_steps else
                                             save_checkpoint_secs, save_steps=save_checkpoint_steps or None))
        if save_summaries_steps or save_summaries_secs:
            hooks.append(SummarySaverHook(save_steps=save_summaries_steps or None,
                                          save_secs=None if save_summaries_steps else save_summaries_secs,
                                          output_dir=summary_dir or checkpoint_dir))
    if log_step_count_steps:
        hooks.append(StepCounterHook(log_step_count_steps))
    return MonitoredSession(hooks=hooks, checkpoint_dir=checkpoint_dir)
