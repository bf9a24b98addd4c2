"""Protocol buffers' text format, as Caffe's .prototxt files are written: messages without a
schema, their fields in order (a field given twice is repeated; a scalar read where one value is
wanted is the last given, as protobuf's parser keeps it), printed back the same way."""
import re

_TOKEN = re.compile(r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<number>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)[fF]?(?![\w.]))
  | (?P<word>[-+]?[A-Za-z_][\w.]*)
  | (?P<punct>[:{}<>\[\],;])
""", re.VERBOSE)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f",
            "v": "\v", "?": "?"}
_CLOSING = {"{": "}", "<": ">"}


class Enum(str):
    """An enum value (MAX, TEST, LMDB): printed without quotes."""


class Message:
    """One message: its fields in order, each name with its values (a scalar, a string, an Enum
    or a Message)."""

    def __init__(self, **fields):
        self._fields = []
        for name, value in fields.items():
            for item in (value if isinstance(value, (list, tuple)) else [value]):
                self.add(name, item)

    def add(self, name, value):
        self._fields.append((name, value))
        return value

    def all(self, name):
        """Every value the field was given, in order (a repeated field)."""
        return [value for key, value in self._fields if key == name]

    def get(self, name, default=None):
        """The field's value (the last given), or default."""
        values = self.all(name)
        return values[-1] if values else default

    def message(self, name):
        """The sub-message, or an empty one where the field is not given (protobuf's reading)."""
        value = self.get(name)
        return value if isinstance(value, Message) else Message()

    def has(self, name):
        return any(key == name for key, _ in self._fields)

    def remove(self, name):
        self._fields = [(key, value) for key, value in self._fields if key != name]

    def set(self, name, value):
        """Give the field this one value (or these values, for a list) in place of any it had."""
        position = next((i for i, (key, _) in enumerate(self._fields) if key == name), len(self._fields))
        values = value if isinstance(value, (list, tuple)) else [value]
        rest = [(key, v) for key, v in self._fields if key != name]
        self._fields = rest[:position] + [(name, v) for v in values] + rest[position:]

    def items(self):
        return list(self._fields)

    def __eq__(self, other):
        return isinstance(other, Message) and self._fields == other._fields

    def __repr__(self):
        return f"Message({self.to_text().strip()!r})" if self._fields else "Message()"

    def __str__(self):
        return self.to_text()

    def to_text(self, indent=0):
        pad = "  " * indent
        lines = []
        for name, value in self._fields:
            if isinstance(value, Message):
                lines.append(f"{pad}{name} {{\n{value.to_text(indent + 1)}{pad}}}\n")
            else:
                lines.append(f"{pad}{name}: {_format(value)}\n")
        return "".join(lines)


def _format(value):
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, bytes):  # (as protobuf prints bytes: octal escapes outside printable ASCII)
        return '"' + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03o}" for b in value) + '"'
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else \
            ("nan" if value != value else ("inf" if value > 0 else "-inf"))
    return str(value)


def parse(text, where="<prototxt>"):
    """The Message a text-format string writes."""
    tokens = _tokens(text, where)
    return _read_fields(tokens, None, None)


def read(path):
    with open(path, encoding="utf-8") as f:
        return parse(f.read(), where=str(path))


class _Tokens:
    def __init__(self, items, where):
        self.items, self.at, self.where = items, 0, where

    def peek(self):
        return self.items[self.at] if self.at < len(self.items) else (None, None, None)

    def take(self):
        item = self.peek()
        self.at += 1
        return item

    def error(self, message, line=None):
        line = line if line is not None else (self.peek()[2] or (self.items[-1][2] if self.items else 1))
        return ValueError(f"{self.where}:{line}: {message}")


def _tokens(text, where):
    items, at, line = [], 0, 1
    while at < len(text):
        found = _TOKEN.match(text, at)
        if found is None:
            raise ValueError(f"{where}:{line}: cannot read {text[at:at + 20]!r}")
        kind = found.lastgroup
        if kind != "space":
            items.append((kind, found.group(), line))
        line += found.group().count("\n")
        at = found.end()
    return _Tokens(items, where)


def _read_fields(tokens, closing, opened):
    message = Message()
    while True:
        kind, text, line = tokens.peek()
        if kind is None:
            if closing is not None:
                raise tokens.error(f"the message opened on line {opened} ends without its '{closing}'")
            return message
        if text == closing:
            tokens.take()
            return message
        if kind == "punct" and text in ",;":
            tokens.take()
            continue
        if kind != "word":
            raise tokens.error(f"expected a field name, got {text!r}", line)
        tokens.take()
        colon = tokens.peek()[1] == ":"
        if colon:
            tokens.take()
        for value in _read_values(tokens, text, colon):
            message.add(text, value)


def _read_values(tokens, name, colon):
    kind, text, line = tokens.peek()
    if text in _CLOSING:
        tokens.take()
        return [_read_fields(tokens, _CLOSING[text], line)]
    if not colon:
        raise tokens.error(f"expected ':' or '{{' after the field {name!r}", line)
    if text == "[":  # a list: `dim: [1, 3, 224, 224]`
        tokens.take()
        values = []
        while tokens.peek()[1] != "]":
            if tokens.peek()[1] == ",":
                tokens.take()
                continue
            if tokens.peek()[0] is None:
                raise tokens.error(f"the list of {name!r} ends without its ']'")
            values.extend(_read_values(tokens, name, True))
        tokens.take()
        return values
    return [_scalar(tokens, name)]


def _scalar(tokens, name):
    kind, text, line = tokens.take()
    if kind == "string":
        parts = [_unquote(text)]
        while tokens.peek()[0] == "string":  # adjacent strings join, as in C
            parts.append(_unquote(tokens.take()[1]))
        return "".join(parts)
    if kind == "number":
        body = text.rstrip("fF") if not text.lower().startswith("0x") else text
        if re.fullmatch(r"[-+]?\d+", body):
            return int(body)
        return float(body)
    if kind == "word":
        lowered = text.lower().lstrip("+")
        if lowered in ("true", "t"):
            return True
        if lowered in ("false", "f"):
            return False
        if lowered in ("inf", "infinity", "-inf", "-infinity", "nan", "-nan"):
            return float(lowered.replace("infinity", "inf"))
        return Enum(text)
    raise tokens.error(f"expected a value for {name!r}, got {text!r}", line)


def _unquote(text):
    body, out, at = text[1:-1], [], 0
    while at < len(body):
        char = body[at]
        if char != "\\":
            out.append(char)
            at += 1
            continue
        code = body[at + 1]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            at += 2
        elif code in "01234567":
            digits = re.match(r"[0-7]{1,3}", body[at + 1:]).group()
            out.append(chr(int(digits, 8)))
            at += 1 + len(digits)
        elif code == "x":
            digits = re.match(r"[0-9a-fA-F]{1,2}", body[at + 2:]).group()
            out.append(chr(int(digits, 16)))
            at += 2 + len(digits)
        else:
            out.append(code)
            at += 2
    return "".join(out)
