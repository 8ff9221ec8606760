"""The engine's own error types, in a module of their own so that every layer of the engine
(model, training, backends, the playground) can raise and catch them without importing each other."""


class DataError(ValueError):
    """Training or evaluation data that cannot be used as given (shape, dtype, NaN, labels)."""


class NumericalError(RuntimeError):
    """Training hit NaN/inf; the weights are left as they were before the failing step."""

    def __init__(self, message, step=None, layer=None):
        super().__init__(message)
        self.step = step
        self.layer = layer
