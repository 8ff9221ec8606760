"""What every exporter shares: the error type, Python-safe names and number literals."""
from __future__ import annotations

import keyword
import math

__all__ = ["ExportError", "attr_names", "py", "weight_decayed"]


class ExportError(ValueError):
    """A model that cannot be exported to a target, or foreign weights that do not fit; the message
    names the layer or tensor and why."""


def attr_names(layer_names):
    """Layer name -> a unique Python identifier (module attribute / variable) for it."""
    out, used = {}, {"x", "model", "self", "torch", "nn", "F", "keras", "layers", "ops", "inputs"}
    for name in layer_names:
        ident = "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "layer"
        if ident[0].isdigit() or keyword.iskeyword(ident):
            ident = "l_" + ident
        base, n = ident, 2
        while ident in used:
            ident, n = f"{base}_{n}", n + 1
        used.add(ident)
        out[name] = ident
    return out


def py(v):
    """A float/int/bool as Python source that reads back as exactly the same value."""
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, int):
        return str(v)
    v = float(v)
    if not math.isfinite(v):
        return f"float('{v}')"
    return repr(v)


def weight_decayed(pname):
    """nnplay applies L1/L2 and AdamW's decay to weights only (model.py: p.decay)."""
    return pname.startswith("weight")
