"""Objects that remember how they were made (layers, optimizers), so a model can be saved
as the calls that build it again (sg.layers.save / load_model), as Keras's get_config does,
without each class listing its own arguments.

A class deriving from Recorded has its constructor's arguments kept as given, by the
outermost constructor call (subclasses calling super().__init__ do not overwrite them):
`obj.named_arguments()` -> {parameter name: value} (a layer's get_config, a saved model).
"""
import functools
import inspect


class Recorded:
    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        init = cls.__dict__.get("__init__")
        if init is None or getattr(init, "records", False):
            return

        @functools.wraps(init)
        def recording(self, *args, **kwargs):
            if "_construction" not in self.__dict__:  # (the class, not its function: objects pickle)
                self._construction = (cls, args, dict(kwargs))
            init(self, *args, **kwargs)
        recording.records = True
        cls.__init__ = recording

    def named_arguments(self):
        """{parameter name: value} of the constructor call that made this object (the
        keyword arguments a **kw parameter took, by their own names)."""
        cls, args, kwargs = self.__dict__.get("_construction", (None, (), {}))
        if cls is None:
            return {}
        init = cls.__dict__["__init__"].__wrapped__
        named = {}
        signature = inspect.signature(init)
        for name, value in signature.bind(self, *args, **kwargs).arguments.items():
            kind = signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                named.update(value)
            elif name != "self":
                named[name] = value
        return named
