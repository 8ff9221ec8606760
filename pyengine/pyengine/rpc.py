"""The Python side of the worker's RPC protocol.

web/worker.js answers requests ``{id, method, params}`` with ``{id, result}`` or
``{id, error: {message, kind}}``. Methods the worker does not serve itself in JavaScript are
passed here: ``dispatch(method, params_json)`` calls the function registered under that name and
returns a JSON string, ``{"result": ...}`` or ``{"error": {"message", "kind", "traceback"}}``.
Exceptions never cross into JavaScript, so the worker needs no Python error parsing.

Adding a method is one decorator::

    from pyengine import rpc

    @rpc.method("train")
    def train(spec, epochs=1):
        for epoch in range(epochs):
            ...
            rpc.emit("epoch", epoch=epoch, loss=loss)
        return {"loss": loss}

Params arrive as keyword arguments; the return value must be JSON-serialisable (NumPy scalars and
arrays are converted). A method may be ``async`` (e.g. to await a JavaScript promise).
``emit(event, **fields)`` streams ``{event, ...fields}`` messages to the page while a method runs.

Works in CPython too (the emitter defaults to a no-op), so all of this is unit-testable.
"""
from __future__ import annotations

import ast
import inspect
import json
import math
import traceback
from typing import Any, Callable

METHODS: dict[str, Callable[..., Any]] = {}
# Variables persist between runPython calls, as in a REPL.
USER_NAMESPACE: dict[str, Any] = {"__name__": "__main__"}
_emitter: Callable[[str], None] | None = None


class RpcError(Exception):
    """An error with a `kind` the page can switch on (e.g. "SpecError", "UnknownMethod")."""

    def __init__(self, message: str, kind: str = "RpcError"):
        super().__init__(message)
        self.kind = kind


def method(name: str):
    """Register the decorated function as the RPC method `name`."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in METHODS and METHODS[name] is not fn:
            raise ValueError(f"RPC method {name!r} is already registered by {METHODS[name].__module__}")
        METHODS[name] = fn
        return fn

    return register


def set_emitter(fn: Callable[[str], None] | None) -> None:
    """Install the function that delivers events (the worker passes one taking a JSON string)."""
    global _emitter
    _emitter = fn


def emit(event: str, **fields: Any) -> None:
    """Stream an event message ``{event, ...fields}`` to the page (no-op without an emitter)."""
    if _emitter is not None:
        _emitter(json.dumps({"event": event, **to_jsonable(fields)}, allow_nan=False))


def to_jsonable(value: Any) -> Any:
    """Convert NumPy scalars/arrays, tuples and non-finite floats into plain JSON values."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # NumPy array or scalar
        return to_jsonable(value.tolist())
    raise TypeError(f"result of type {type(value).__name__} is not JSON-serialisable")


def _error(exc: BaseException) -> dict:
    kind = getattr(exc, "kind", None) or type(exc).__name__
    return {
        "error": {
            "message": str(exc) or kind,
            "kind": kind,
            "traceback": "".join(traceback.format_exception(exc)),
            "line": getattr(exc, "line", None) or _user_line(exc),
            **({"details": to_jsonable(exc.details)} if getattr(exc, "details", None) is not None else {}),
        }
    }


def _check_params(name: str, fn: Callable[..., Any], params: dict) -> None:
    """Unknown or missing parameter names as a BadParams message naming them (not Python's TypeError)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: let the call say
        return
    try:
        sig.bind(**params)
    except TypeError:
        named = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        allowed = [p.name for p in named]
        if any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            return
        unknown = [k for k in params if k not in allowed]
        missing = [p.name for p in named if p.default is p.empty and p.name not in params]
        what = (f"unknown parameter {unknown[0]!r}" if unknown else f"missing parameter {missing[0]!r}")
        raise RpcError(f"{name}: {what}; its parameters are: {', '.join(allowed) or 'none'}", "BadParams") from None


async def dispatch(name: str, params_json: str = "{}") -> str:
    """Run the method `name` with params (a JSON object); always returns a JSON string."""
    try:
        fn = METHODS.get(name)
        if fn is None:
            raise RpcError(f"unknown method {name!r}; known: {', '.join(sorted(METHODS)) or 'none'}", "UnknownMethod")
        params = json.loads(params_json or "{}")
        if not isinstance(params, dict):
            raise RpcError("params must be a JSON object", "BadParams")
        _check_params(name, fn, params)
        result = fn(**params)
        if inspect.isawaitable(result):
            result = await result
        return json.dumps({"result": to_jsonable(result)}, allow_nan=False)
    except Exception as exc:  # noqa: BLE001 - every failure becomes an error reply
        return json.dumps(_error(exc))


async def run_user_code(code: str) -> Any:
    """Run `code` in USER_NAMESPACE and return the value of its last expression (or None).

    Top-level ``await`` works, as in Pyodide's runPythonAsync. Failures raise; a KeyboardInterrupt
    (the page's Stop button) or SystemExit (``exit()``) in the learner's code comes out as a
    ``UserCodeStopped`` RpcError, so that it stays an error reply and never ends the worker.
    """
    tree = ast.parse(code, "<nnplay>", "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    try:
        result = eval(compile(tree, "<nnplay>", "exec", flags=flags), USER_NAMESPACE)
        if inspect.isawaitable(result):
            await result
        value = None
        if last is not None:
            value = eval(compile(last, "<nnplay>", "eval", flags=flags), USER_NAMESPACE)
            if inspect.isawaitable(value):
                value = await value
    except (KeyboardInterrupt, SystemExit) as exc:
        line = _user_line(exc)
        if isinstance(exc, KeyboardInterrupt):
            stopped = RpcError(f"stopped at line {line or '?'}", "KeyboardInterrupt")
        else:
            stopped = RpcError(f"the code called exit({'' if exc.code is None else exc.code})", "SystemExit")
        stopped.line = line
        raise stopped from None
    return value


def _user_line(exc: BaseException) -> int | None:
    """The line of the learner's code (<nnplay>) where `exc` was raised, innermost first."""
    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) and exc.filename == "<nnplay>" else None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<nnplay>":
            line = frame.lineno
    return line


async def run_python(code: str) -> str:
    """Run `code` in USER_NAMESPACE; reply with the value of its last expression (as `dispatch`)."""
    try:
        return json.dumps({"result": to_jsonable(await run_user_code(code))}, allow_nan=False)
    except Exception as exc:  # noqa: BLE001 - every failure becomes an error reply
        return json.dumps(_error(exc))


@method("version")
def version() -> dict:
    """The versions a page may want to show."""
    import platform
    import sys

    import numpy

    from pyengine import __version__

    return {"pyengine": __version__, "numpy": numpy.__version__, "python": platform.python_version(),
            "platform": sys.platform}
