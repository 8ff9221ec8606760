"""Carry a trained network out of nnplay (PyTorch, Keras, ONNX) and weights back in.

    from pyengine import export
    files = export.to_pytorch(model, data=..., training=...)   # {file name: bytes}: code, weights, train.py, ...
    files = export.to_keras(model, data=..., training=...)     # the same for Keras 3
    blob = export.zip_files(files)
    onnx_bytes = export.to_onnx(model)
    export.load_weights(model, safetensors_bytes)               # nnplay's own or the exported Net's state_dict

Weights travel as safetensors, which pyengine writes and reads itself. Nothing here imports torch,
keras or onnx: the exporters only produce text and bytes.
"""
from __future__ import annotations

from . import safetensors
from .bundle import to_keras, to_pytorch, zip_files
from .common import ExportError
from .onnx import to_onnx
from .safetensors import SafetensorsError

__all__ = ["to_pytorch", "to_keras", "to_onnx", "zip_files", "save_weights", "load_weights", "ExportError", "SafetensorsError"]


def save_weights(model):
    """The model's weights as safetensors bytes in nnplay's own names and layout ('layer.param')."""
    return safetensors.dumps(model.state_dict(), {"format": "nnplay", "spec_layers": ",".join(model.layer_names)})


def load_weights(model, data):
    """Load safetensors bytes into `model`: nnplay's own file (format 'nnplay'), the Keras export's
    weights (format 'keras') or a state_dict of the exported PyTorch Net (e.g. after fine-tuning). Raises ExportError / SafetensorsError
    naming the tensor that does not fit. Returns which layout it read."""
    from . import pytorch
    tensors, meta = safetensors.loads(data)
    if meta.get("format") == "nnplay":
        own = model.state_dict()
        problems = [f"tensor '{k}' is not a weight of this network" for k in tensors if k not in own]
        for k, v in own.items():
            if k not in tensors:
                problems.append(f"tensor '{k}' is missing (shape {list(v.shape)})")
            elif tensors[k].shape != v.shape:
                problems.append(f"tensor '{k}' has shape {list(tensors[k].shape)}, this network needs {list(v.shape)}")
        if problems:
            raise ExportError("; ".join(problems))
        model.load_state_dict(tensors)
        return "nnplay"
    if meta.get("format") == "keras":  # written by the Keras export's save_safetensors(get_weights(model))
        from . import keras
        model.load_state_dict(keras.from_keras_state(model.nspec, tensors))
        return "keras"
    model.load_state_dict(pytorch.from_torch_state(model.nspec, tensors))
    return "pytorch"
