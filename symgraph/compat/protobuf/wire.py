"""protobuf's binary encoding, read and written by a table of each message's fields:
schema[message_type] = {field number: (name, kind, repeated)}, kinds "string", "bytes", "int"
(varints: int32 / int64 / uint), "bool", "float", "double", "enum:<table>" (enums[table]: code ->
name) or another message's type. Repeated floats and doubles are one packed NumPy array (a
Caffe blob's millions of values); fields the table does not name are skipped, as protobuf skips
unknown fields."""
import struct

import numpy as np

from .text_format import Message

_FIXED = {"float": ("<f4", 5, 4), "double": ("<f8", 1, 8)}


def decode(data, message_type, schema, enums=None, where="<bytes>"):
    """The Message `data` holds, read by schema[message_type]."""
    try:
        return _decode(memoryview(data), message_type, schema, enums or {})
    except (IndexError, struct.error, ValueError) as error:
        raise ValueError(f"{where} is not a {message_type} in protobuf's binary encoding ({error})") from None


def _decode(view, message_type, schema, enums):
    fields, message, at = schema[message_type], Message(), 0
    arrays = {}
    while at < len(view):
        key, at = _varint(view, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(view, at)
        elif wire == 1:
            value, at = view[at:at + 8], at + 8
        elif wire == 2:
            length, at = _varint(view, at)
            value, at = view[at:at + length], at + length
            if len(value) != length:
                raise ValueError("a field runs past the end")
        elif wire == 5:
            value, at = view[at:at + 4], at + 4
        else:
            raise ValueError(f"wire type {wire} (groups are not read here)")
        if number not in fields:
            continue
        name, kind, repeated = fields[number]
        if kind in _FIXED:
            values = np.frombuffer(bytes(value), dtype=_FIXED[kind][0])
            if repeated:
                arrays.setdefault(name, []).append(values)
            else:
                message.add(name, float(values[0]))
        elif kind == "int" and wire == 2:  # packed varints
            inner = 0
            while inner < len(value):
                item, inner = _varint(value, inner)
                message.add(name, _signed(item))
        else:
            message.add(name, _value(kind, value, schema, enums))
    for name, parts in arrays.items():
        message.add(name, np.concatenate(parts) if len(parts) > 1 else parts[0])
    return message


def _value(kind, value, schema, enums):
    if kind == "string":
        return bytes(value).decode("utf-8")
    if kind == "bytes":
        return bytes(value)
    if kind == "int":
        return _signed(value)
    if kind == "bool":
        return bool(value)
    if kind.startswith("enum:"):
        return enums[kind[5:]].get(value, value)
    return _decode(value, kind, schema, enums)


def _varint(view, at):
    result = shift = 0
    while True:
        byte = view[at]
        at += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, at
        shift += 7


def _signed(value):
    return value - (1 << 64) if value >= 1 << 63 else value


def encode(message, message_type, schema, enums=None):
    """protobuf's binary encoding of `message` by schema[message_type] (fields it does not name
    are left out)."""
    numbers = {name: (number, kind, repeated) for number, (name, kind, repeated) in schema[message_type].items()}
    out = bytearray()
    for name, value in message.items():
        if name not in numbers:
            continue
        number, kind, repeated = numbers[name]
        if kind in _FIXED:
            dtype, wire, _ = _FIXED[kind]
            if repeated:
                payload = np.ascontiguousarray(value, dtype=dtype).ravel().tobytes()
                out += _key(number, 2) + _put_varint(len(payload)) + payload
            else:
                out += _key(number, wire) + np.asarray(value, dtype=dtype).tobytes()
        elif kind == "int":
            out += _key(number, 0) + _put_varint(int(value) & ((1 << 64) - 1))
        elif kind == "bool":
            out += _key(number, 0) + _put_varint(int(bool(value)))
        elif kind.startswith("enum:"):
            codes = {type_name: code for code, type_name in (enums or {})[kind[5:]].items()}
            out += _key(number, 0) + _put_varint(codes[value] if isinstance(value, str) else int(value))
        else:
            payload = (value.encode("utf-8") if kind == "string" else bytes(value) if kind == "bytes"
                       else encode(value, kind, schema, enums))
            out += _key(number, 2) + _put_varint(len(payload)) + payload
    return bytes(out)


def _key(number, wire):
    return _put_varint(number << 3 | wire)


def _put_varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
