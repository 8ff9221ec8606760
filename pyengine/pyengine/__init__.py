"""pyengine: nnplay's deep-learning engine (pure Python + NumPy)."""

__version__ = "0.1.0"
