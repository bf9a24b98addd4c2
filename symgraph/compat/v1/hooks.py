"""TensorFlow 1's session hooks (tf.train.SessionRunHook and the ones Estimator users pass):
begin, after_create_session, before_run (extra fetches: SessionRunArgs), after_run, end.
LoggingTensorHook logs tensors (or the tensors of names: "softmax_tensor") every n steps;
StopAtStepHook ends training at a step."""
import numpy as np

from .app import logging


class SessionRunArgs:
    def __init__(self, fetches, feed_dict=None, options=None):
        self.fetches, self.feed_dict, self.options = fetches, feed_dict, options


class SessionRunValues:
    def __init__(self, results, options=None, run_metadata=None):
        self.results, self.options, self.run_metadata = results, options, run_metadata


class SessionRunContext:
    """What a hook sees of a step: the session, the fetches asked for, and request_stop()."""

    def __init__(self, original_args, session):
        self.original_args, self.session, self.stop_requested = original_args, session, False

    def request_stop(self):
        self.stop_requested = True


class SessionRunHook:
    def begin(self):
        pass

    def after_create_session(self, session, coord):
        pass

    def before_run(self, run_context):
        return None

    def after_run(self, run_context, run_values):
        pass

    def end(self, session):
        pass


class LoggingTensorHook(SessionRunHook):
    """Logs the tensors (a dict of tag: tensor or tensor name, or a list) every_n_iter steps."""

    def __init__(self, tensors, every_n_iter=None, every_n_secs=None, at_end=False, formatter=None):
        self.tensors = tensors if isinstance(tensors, dict) else {str(t if isinstance(t, str) else t.name): t
                                                                     for t in tensors}
        self.every_n_iter, self.at_end, self.formatter = every_n_iter or 100, at_end, formatter
        self._step = 0

    def begin(self):
        from .variables import get_default_graph
        graph = get_default_graph()
        self._fetches = {tag: graph.as_graph_element(t if not isinstance(t, str) or ":" in t else t + ":0")
                         for tag, t in self.tensors.items()}
        self._step = 0

    def before_run(self, run_context):
        due = self._step % self.every_n_iter == 0
        return SessionRunArgs(self._fetches) if due else None

    def after_run(self, run_context, run_values):
        if run_values.results:
            self._log(run_values.results)
        self._step += 1

    def end(self, session):
        if self.at_end:
            self._log(session.run(self._fetches))

    def _log(self, values):
        if self.formatter is not None:
            logging.info(self.formatter(values))
        else:
            logging.info(", ".join(f"{tag} = {np.array2string(np.asarray(v), threshold=20)}"
                                   for tag, v in values.items()))


class StopAtStepHook(SessionRunHook):
    """Stops training after num_steps more steps, or at last_step of the global step."""

    def __init__(self, num_steps=None, last_step=None):
        if (num_steps is None) == (last_step is None):
            raise ValueError("StopAtStepHook: give one of num_steps and last_step")
        self.num_steps, self.last_step = num_steps, last_step

    def begin(self):
        from .train import get_global_step
        self._global_step = get_global_step()

    def after_create_session(self, session, coord):
        if self.last_step is None:
            self.last_step = int(session.run(self._global_step)) + self.num_steps

    def before_run(self, run_context):
        return SessionRunArgs(self._global_step)

    def after_run(self, run_context, run_values):
        if int(run_values.results) + 1 >= self.last_step:
            run_context.request_stop()


def run_with_hooks(session, hooks, fetches, feed_dict=None):
    """session.run(fetches) with each hook's before_run fetches beside them and its after_run
    given their values; returns (the fetches' values, whether a hook asked to stop)."""
    context = SessionRunContext(SessionRunArgs(fetches, feed_dict), session)
    extra = [hook.before_run(context) for hook in hooks]
    feed = dict(feed_dict or {})
    for args in extra:
        if args is not None and args.feed_dict:
            feed.update(args.feed_dict)
    results = session.run([fetches] + [None if args is None else args.fetches for args in extra
                                       if args is not None], feed)
    values, extra_values = results[0], iter(results[1:])
    for hook, args in zip(hooks, extra):
        hook.after_run(context, SessionRunValues(None if args is None else next(extra_values)))
    return values, context.stop_requested
