"""tf.errors: the exceptions a Session's run raises (OutOfRangeError: an iterator past its end)."""


class OpError(Exception):
    def __init__(self, message, node_def=None, op=None, error_code=None):
        super().__init__(message)
        self.message, self.node_def, self.op = message, node_def, op


class OutOfRangeError(OpError):
    """An iterator has no more elements (the end of a tf.data dataset)."""


class InvalidArgumentError(OpError, ValueError):
    pass
