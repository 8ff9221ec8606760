"""Array-kernel backends behind one registry.

Ops (pyengine.ops) never inline heavy kernels: they call `current()`, which returns the active
backend object (for "numpy", the numpy_backend module). A later "webgpu" backend registers itself
here with the same function names (gemm, conv2d_forward, ...).
"""
from . import numpy_backend

_REGISTRY = {"numpy": numpy_backend}
_active = numpy_backend


def register_backend(name, backend):
    _REGISTRY[name] = backend


def available_backends():
    return sorted(_REGISTRY)


def get_backend(name="numpy"):
    """The backend object for `name`; "auto" is the best available (numpy for now)."""
    if name in (None, "auto"):
        name = "webgpu" if "webgpu" in _REGISTRY else "numpy"
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; available: {', '.join(available_backends())}") from None


def set_backend(name):
    """Make `name` the backend every op uses from now on; returns it."""
    global _active
    _active = get_backend(name)
    return _active


def current():
    return _active
