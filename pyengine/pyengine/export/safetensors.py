"""The safetensors format, written and read by pyengine itself (no `safetensors` package needed).

A file is: 8 bytes little-endian u64 N, then N bytes of JSON header, then the raw tensor bytes.
The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into
the bytes after the header) and may hold "__metadata__": {str: str}. Data is little-endian and
C-ordered; tensors are laid out in the order given, with no gaps, as the reference writer does.
"""
from __future__ import annotations

import json
import struct

import numpy as np

__all__ = ["dumps", "loads", "SafetensorsError", "DTYPES"]

# safetensors dtype name <-> NumPy dtype (little-endian). BF16 and F8 have no NumPy dtype: reported.
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
          "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
_NAMES = {np.dtype(v).str.lstrip("|"): k for k, v in DTYPES.items()}
MAX_HEADER = 100 * 1024 * 1024  # the reference reader's limit


class SafetensorsError(ValueError):
    """A file that is not valid safetensors, or a tensor that cannot be stored; says which tensor."""


def _dtype_name(arr, name):
    key = arr.dtype.newbyteorder("<").str.lstrip("|")
    if key not in _NAMES:
        raise SafetensorsError(f"tensor '{name}': dtype {arr.dtype} cannot be stored in safetensors "
                               f"(supported: {', '.join(DTYPES)})")
    return _NAMES[key]


def dumps(tensors, metadata=None):
    """{name: array} (+ optional {str: str} metadata) -> the bytes of a .safetensors file."""
    header, chunks, offset = {}, [], 0
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise SafetensorsError("metadata must map strings to strings")
        header["__metadata__"] = dict(metadata)
    for name, value in tensors.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise SafetensorsError(f"bad tensor name {name!r}")
        arr = np.asarray(value)
        dtype = _dtype_name(arr, name)
        raw = np.ascontiguousarray(arr, dtype=np.dtype(DTYPES[dtype])).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad so the data starts 8-byte aligned (the reference writer does too)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def loads(data):
    """The bytes of a .safetensors file -> ({name: array}, metadata dict). Arrays are copies."""
    data = bytes(data) if not isinstance(data, (bytes, bytearray, memoryview)) else data
    data = memoryview(data).cast("B")
    if len(data) < 8:
        raise SafetensorsError(f"not a safetensors file: {len(data)} bytes, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise SafetensorsError(f"not a safetensors file: the header length says {n} bytes but the file has "
                               f"{len(data) - 8} after it")
    try:
        header = json.loads(bytes(data[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise SafetensorsError(f"not a safetensors file: the header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise SafetensorsError("not a safetensors file: the header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise SafetensorsError("the header's __metadata__ is not an object")
    body = data[8 + n:]
    out = {}
    for name, info in header.items():
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
            raise SafetensorsError(f"tensor '{name}': the header entry needs dtype, shape and data_offsets")
        dtype, shape, offs = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPES:
            raise SafetensorsError(f"tensor '{name}': dtype {dtype!r} is not supported here "
                                   f"(supported: {', '.join(DTYPES)}); convert it to F32 first, "
                                   "e.g. {k: v.float() for k, v in state_dict.items()}")
        if (not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape)
                or not isinstance(offs, list) or len(offs) != 2 or not all(isinstance(o, int) for o in offs)):
            raise SafetensorsError(f"tensor '{name}': bad shape {shape!r} or data_offsets {offs!r}")
        begin, end = offs
        itemsize = np.dtype(DTYPES[dtype]).itemsize
        want = int(np.prod(shape, dtype=np.int64)) * itemsize
        if not 0 <= begin <= end <= len(body) or end - begin != want:
            raise SafetensorsError(f"tensor '{name}': data_offsets {offs} do not fit shape {shape} of {dtype} "
                                   f"({want} bytes) in a data section of {len(body)} bytes")
        arr = np.frombuffer(body[begin:end], dtype=np.dtype(DTYPES[dtype])).reshape(shape)
        out[name] = arr.astype(arr.dtype.newbyteorder("="), copy=True)
    return out, meta
