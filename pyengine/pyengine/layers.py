"""`LAYERS[type]`: the record of each spec layer type (its init, forward, fields and hooks), under the
name older code and the tests use; the records live one module each in pyengine/layertypes."""
from .layertypes import TYPES as LAYERS

__all__ = ["LAYERS"]
