"""A network as source code: pyengine Python, PyTorch and Keras (pure functions of a NormalizedSpec).

The playground's Python view shows these. The PyTorch (and Keras) code comes from pyengine.export,
which also writes the weights, data and scripts of a trained network.
"""
from __future__ import annotations

import json
import pprint

from .export.keras import model_code as _keras_code
from .export.pytorch import model_code as _pytorch_code

__all__ = ["export", "to_python", "to_pytorch", "to_keras"]


def export(nspec, kind):
    makers = {"python": to_python, "pytorch": to_pytorch, "keras": to_keras}
    if kind not in makers:
        raise ValueError(f"unknown code kind {kind!r}; choose python, pytorch or keras")
    return makers[kind](nspec)


def to_python(nspec):
    spec = nspec.to_spec()
    body = pprint.pformat(json.loads(json.dumps(spec)), indent=1, width=100, sort_dicts=False)
    body = body.replace("True", "True").replace("None", "None")
    return ("import pyengine\n\n"
            f"spec = {body}\n\n"
            "model = pyengine.build(spec)\n"
            "print(model.summary())\n")


def to_pytorch(nspec):
    """The network as PyTorch code that computes what pyengine does (pyengine.export.pytorch)."""
    return _pytorch_code(nspec)


def to_keras(nspec):
    """The network as Keras 3 code that computes what pyengine does (pyengine.export.keras)."""
    return _keras_code(nspec)
