"""What TensorFlow 1 scripts set up before their graphs: tf.logging (Python's logging under the
"tensorflow" logger, TensorFlow's levels and names) and tf.app (flags defined by
tf.app.flags.DEFINE_*, read from the command line by tf.app.run(), which then calls main(argv)).

    FLAGS = tf.app.flags.FLAGS
    tf.app.flags.DEFINE_integer("batch_size", 100, "Batch size.")
    def main(_):
        tf.logging.info("batch size %d", FLAGS.batch_size)
    if __name__ == "__main__":
        tf.app.run()
"""
import logging as _logging
import sys
import types

_logger = _logging.getLogger("tensorflow")

DEBUG, INFO, WARN, ERROR, FATAL = _logging.DEBUG, _logging.INFO, _logging.WARNING, _logging.ERROR, _logging.FATAL


def _log(level):
    def log(msg, *args, **kwargs):
        _logger.log(level, msg, *args, **kwargs)
    return log


def set_verbosity(level):
    _logger.setLevel(level)
    if not _logger.handlers and not _logging.getLogger().handlers:  # (TensorFlow prints to stderr itself)
        _logger.addHandler(_logging.StreamHandler())


def get_verbosity():
    return _logger.getEffectiveLevel()


def log_every_n(level, msg, n, *args):
    """Logs on the first call and every n-th after, from the same line."""
    caller = sys._getframe(1)
    key = (caller.f_code.co_filename, caller.f_lineno)
    count = _counts.get(key, 0)
    _counts[key] = count + 1
    if count % n == 0:
        _logger.log(level, msg, *args)


_counts = {}

logging = types.SimpleNamespace(
    DEBUG=DEBUG, INFO=INFO, WARN=WARN, ERROR=ERROR, FATAL=FATAL, set_verbosity=set_verbosity,
    get_verbosity=get_verbosity, debug=_log(DEBUG), info=_log(INFO), warn=_log(WARN), warning=_log(WARN),
    error=_log(ERROR), fatal=_log(FATAL), log=_logger.log, log_every_n=log_every_n)


class _FlagValues:
    """tf.app.flags.FLAGS: each defined flag an attribute, its default until the command line
    is read (by tf.app.run(), or by FLAGS(argv))."""

    def __init__(self):
        object.__setattr__(self, "_flags", {})
        object.__setattr__(self, "_parsed", False)

    def _define(self, name, default, help, parse):
        self._flags[name] = {"value": default, "default": default, "help": help, "parse": parse}

    def __getattr__(self, name):
        flags = object.__getattribute__(self, "_flags")
        if name not in flags:
            raise AttributeError(f"no flag --{name} is defined (tf.app.flags.DEFINE_...)")
        return flags[name]["value"]

    def __setattr__(self, name, value):
        if name not in self._flags:
            raise AttributeError(f"no flag --{name} is defined (tf.app.flags.DEFINE_...)")
        self._flags[name]["value"] = value

    def __contains__(self, name):
        return name in self._flags

    def __call__(self, argv):
        """Reads --name=value, --name value, --flag / --noflag (booleans) from argv[1:]; returns
        argv[0] and the arguments that are not flags."""
        rest, args, k = [argv[0]] if argv else [], list(argv[1:]), 0
        while k < len(args):
            arg = args[k]
            if arg == "--":
                rest.extend(args[k + 1:])
                break
            if not arg.startswith("-") or arg == "-":
                rest.append(arg)
                k += 1
                continue
            name, has_value, value = arg.lstrip("-").partition("=")
            flag = self._flags.get(name)
            if flag is None and name.startswith("no") and self._flags.get(name[2:], {}).get("parse") is _boolean:
                self._flags[name[2:]]["value"] = False
            elif flag is None:
                raise SystemExit(f"FATAL Flags parsing error: Unknown command line flag '{name}'")
            elif flag["parse"] is _boolean and not has_value:
                flag["value"] = True
            else:
                if not has_value:
                    k += 1
                    if k >= len(args):
                        raise SystemExit(f"FATAL Flags parsing error: flag --{name} needs a value")
                    value = args[k]
                try:
                    flag["value"] = flag["parse"](value)
                except ValueError as error:
                    raise SystemExit(f"FATAL Flags parsing error: --{name}={value}: {error}") from None
            k += 1
        object.__setattr__(self, "_parsed", True)
        return rest

    def flag_values_dict(self):
        return {name: flag["value"] for name, flag in self._flags.items()}


def _boolean(text):
    lowered = str(text).lower()
    if lowered in ("true", "t", "1", "yes"):
        return True
    if lowered in ("false", "f", "0", "no"):
        return False
    raise ValueError(f"{text!r} is not a boolean")


def _list(text):
    return [item for item in str(text).split(",") if item]


FLAGS = _FlagValues()


def _definer(parse):
    def define(name, default, help=None, flag_values=FLAGS, **unused):
        flag_values._define(name, default, help, parse)
    return define


def _enum(name, default, enum_values, help=None, flag_values=FLAGS, **unused):
    def parse(text):
        if text not in enum_values:
            raise ValueError(f"one of {list(enum_values)} expected")
        return text
    flag_values._define(name, default, help, parse)


flags = types.SimpleNamespace(
    FLAGS=FLAGS, DEFINE_string=_definer(str), DEFINE_integer=_definer(int), DEFINE_float=_definer(float),
    DEFINE_boolean=_definer(_boolean), DEFINE_bool=_definer(_boolean), DEFINE_list=_definer(_list),
    DEFINE_enum=_enum)


def run(main=None, argv=None):
    """Reads the flags from argv (sys.argv), then calls main (the caller's `main`) with the
    arguments that are not flags and exits with what it returns, as TensorFlow's."""
    rest = FLAGS(sys.argv if argv is None else argv)
    main = main or sys.modules["__main__"].main
    sys.exit(main(rest))


app = types.SimpleNamespace(run=run, flags=flags)


def _gfile():
    """tf.gfile (tf.io.gfile): TensorFlow's file functions over the local file system."""
    import glob as _glob
    import os
    import shutil

    def delete_recursively(path):
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)

    def copy(source, destination, overwrite=False):
        if os.path.exists(destination) and not overwrite:
            raise FileExistsError(f"gfile.Copy: {destination} exists (overwrite=True replaces it)")
        shutil.copyfile(source, destination)

    def rename(source, destination, overwrite=False):
        if os.path.exists(destination) and not overwrite:
            raise FileExistsError(f"gfile.Rename: {destination} exists (overwrite=True replaces it)")
        os.replace(source, destination)

    def make_dirs(path):
        os.makedirs(path, exist_ok=True)

    return types.SimpleNamespace(
        Exists=os.path.exists, exists=os.path.exists, IsDirectory=os.path.isdir, isdir=os.path.isdir,
        MakeDirs=make_dirs, makedirs=make_dirs, MkDir=os.mkdir, mkdir=os.mkdir,
        DeleteRecursively=delete_recursively, rmtree=delete_recursively, Remove=os.remove, remove=os.remove,
        Glob=_glob.glob, glob=_glob.glob, ListDirectory=os.listdir, listdir=os.listdir, Walk=os.walk, walk=os.walk,
        Copy=copy, copy=copy, Rename=rename, rename=rename, GFile=open, Open=open, FastGFile=open)


gfile = _gfile()
