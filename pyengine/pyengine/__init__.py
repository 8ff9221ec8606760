"""pyengine: nnplay's deep-learning engine (pure Python + NumPy, CPython and Pyodide).

    import pyengine
    model = pyengine.build(spec)          # spec: the JSON-serialisable model description
    model.fit(x, y, epochs=2, batch_size=20, validation_split=0.2)
    blob = pyengine.save(model); same = pyengine.load(blob)

docs/engine.md (in the repository) describes the spec format and the architecture.
"""
import importlib

__version__ = "0.1.0"

# Public names and the submodule each lives in. They load on first use, which keeps
# `import pyengine` cheap in the browser (only what a page touches gets imported).
_EXPORTS = {
    "build": "model", "Model": "model", "DataError": "model", "NumericalError": "model",
    "validate": "spec", "SpecError": "spec",
    "save": "io", "load": "io", "from_convnetjs": "io", "ModelFileError": "io",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pyengine' has no attribute {name!r}")
