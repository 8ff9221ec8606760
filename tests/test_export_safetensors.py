"""pyengine's own safetensors writer and reader (no torch needed): the layout, dtypes, and messages
that name what is wrong with a file."""
import json
import struct

import numpy as np
import pytest

import pyengine
from pyengine import export
from pyengine.export import safetensors


def test_round_trip_of_every_dtype_with_metadata_and_the_reference_layout():
    tensors = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "d": np.array([1.5], np.float64),
               "h": np.array([0.5, -2], np.float16), "i": np.array([[-1, 2**40]], np.int64),
               "b": np.array([True, False]), "u": np.arange(3, dtype=np.uint8), "empty": np.zeros((0, 4), np.float32),
               "big_endian": np.array([1.0, 2.0], ">f4")}
    blob = safetensors.dumps(tensors, {"format": "nnplay"})
    (n,) = struct.unpack("<Q", blob[:8])
    assert (8 + n) % 8 == 0  # the data starts 8-byte aligned
    header = json.loads(blob[8:8 + n])
    assert header["__metadata__"] == {"format": "nnplay"}
    assert header["w"] == {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}
    assert header["big_endian"]["dtype"] == "F32"
    back, meta = safetensors.loads(blob)
    assert meta == {"format": "nnplay"}
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype.newbyteorder("=") and np.array_equal(back[k], v), k
    assert blob[8 + n:8 + n + 24] == np.arange(6, dtype="<f4").tobytes()  # raw little-endian, C order


def header_file(header, body=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


@pytest.mark.parametrize("blob,message", [
    (b"\x01\x02", "shorter than the 8-byte header length"),
    (struct.pack("<Q", 1000) + b"{}", "the header length says 1000 bytes"),
    (struct.pack("<Q", 3) + b"{x}", "the header is not JSON"),
    (header_file({"w": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}, b"\0\0"),
     "tensor 'w': dtype 'BF16' is not supported"),
    (header_file({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 8),
     "tensor 'w': data_offsets [0, 4] do not fit shape [2] of F32 (8 bytes)"),
    (header_file({"w": {"dtype": "F32", "shape": [2]}}), "tensor 'w': the header entry needs"),
])
def test_a_broken_file_is_refused_naming_the_problem(blob, message):
    with pytest.raises(safetensors.SafetensorsError) as e:
        safetensors.loads(blob)
    assert message in str(e.value)


def test_an_unstorable_dtype_names_the_tensor():
    with pytest.raises(safetensors.SafetensorsError, match="tensor 'c': dtype complex64"):
        safetensors.dumps({"c": np.zeros(2, np.complex64)})


def test_nnplay_weights_round_trip_and_a_file_of_another_network_names_each_tensor():
    spec = {"input": [3], "layers": [{"type": "dense", "units": 4, "name": "a"}, {"type": "batchnorm", "name": "bn"},
                                     {"type": "dense", "units": 2, "name": "b"}]}
    model = pyengine.build(spec)
    blob = export.save_weights(model)
    other = pyengine.build({**spec, "seed": 5})
    assert export.load_weights(other, blob) == "nnplay"
    for k, v in model.state_dict().items():
        assert np.array_equal(other.state_dict()[k], v)
    smaller = pyengine.build({"input": [3], "layers": [{"type": "dense", "units": 4, "name": "a"},
                                                       {"type": "dense", "units": 3, "name": "b"}]})
    with pytest.raises(export.ExportError) as e:
        export.load_weights(smaller, blob)
    text = str(e.value)
    assert "tensor 'bn.gamma' is not a weight of this network" in text
    assert "tensor 'b.weight' has shape [4, 2], this network needs [4, 3]" in text
