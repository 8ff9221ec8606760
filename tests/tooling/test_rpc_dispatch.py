"""pyengine.rpc, the Python side of the worker protocol, works the same in CPython."""
import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from pyengine import rpc


def complete(coroutine):
    """Run a coroutine to completion on its own thread (Playwright's sync API may own this one's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def call(name, **params):
    return json.loads(complete(rpc.dispatch(name, json.dumps(params))))


def run(code):
    return json.loads(complete(rpc.run_python(code)))


@pytest.fixture
def registered():
    before = dict(rpc.METHODS)
    yield
    rpc.METHODS.clear()
    rpc.METHODS.update(before)


def test_a_registered_method_gets_params_as_keywords_and_returns_json(registered):
    @rpc.method("test_scale")
    def scale(values, factor=2):
        return {"scaled": np.asarray(values, np.float32) * factor, "n": np.int64(len(values))}

    assert call("test_scale", values=[1, 2], factor=3) == {"result": {"scaled": [3.0, 6.0], "n": 2}}


def test_async_methods_are_awaited(registered):
    @rpc.method("test_async")
    async def later():
        await asyncio.sleep(0)
        return "done"

    assert call("test_async") == {"result": "done"}


def test_errors_become_replies_with_message_kind_and_traceback(registered):
    @rpc.method("test_fail")
    def fail():
        raise rpc.RpcError("bad spec", kind="SpecError")

    error = call("test_fail")["error"]
    assert (error["message"], error["kind"]) == ("bad spec", "SpecError")
    assert "Traceback" in error["traceback"]
    assert call("test_no_such_method")["error"]["kind"] == "UnknownMethod"
    unexpected = call("version", unexpected=1)["error"]
    assert unexpected["kind"] == "BadParams" and "version: unknown parameter 'unexpected'" in unexpected["message"]


def test_a_name_cannot_be_registered_twice(registered):
    rpc.method("test_once")(lambda: 1)
    with pytest.raises(ValueError, match="already registered"):
        rpc.method("test_once")(lambda: 2)


def test_emit_streams_events_through_the_installed_emitter():
    sent = []
    rpc.set_emitter(sent.append)
    try:
        rpc.emit("epoch", epoch=np.int32(1), loss=np.float32(0.5), nan=float("nan"))
    finally:
        rpc.set_emitter(None)
    assert [json.loads(s) for s in sent] == [{"event": "epoch", "epoch": 1, "loss": 0.5, "nan": None}]
    rpc.emit("epoch", epoch=2)  # no emitter: a no-op


def test_run_python_returns_the_last_expression_and_keeps_variables():
    assert run("a = 20\na + 1") == {"result": 21}
    assert run("a * 2") == {"result": 40}
    assert run("b = 1") == {"result": None}
    assert run("import asyncio\nawait asyncio.sleep(0)\n'ok'") == {"result": "ok"}
    error = run("1/0")["error"]
    assert (error["kind"], error["message"]) == ("ZeroDivisionError", "division by zero")
    assert run("object()")["error"]["kind"] == "TypeError"
    assert run("def f(:\n")["error"]["kind"] == "SyntaxError"
