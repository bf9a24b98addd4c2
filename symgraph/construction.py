"""Objects that remember how they were made (layers, optimizers), so a model can be saved
as the calls that build it again (sg.layers.save / load_model), as Keras's get_config does,
without each class listing its own arguments.

A class deriving from Recorded has its constructor's arguments kept as given, by the
outermost constructor call (subclasses calling super().__init__ do not overwrite them):
`obj.constructed_with()` -> (positional, keyword) arguments.
"""
import functools


class Recorded:
    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        init = cls.__dict__.get("__init__")
        if init is None or getattr(init, "records", False):
            return

        @functools.wraps(init)
        def recording(self, *args, **kwargs):
            if "_construction" not in self.__dict__:
                self._construction = (args, dict(kwargs))
            init(self, *args, **kwargs)
        recording.records = True
        cls.__init__ = recording

    def constructed_with(self):
        """(positional args, keyword args) of the constructor call that made this object."""
        args, kwargs = self.__dict__.get("_construction", ((), {}))
        return list(args), dict(kwargs)
