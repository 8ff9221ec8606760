"""Guided demos: one module per demo, each a `Demo` subclass, served as RPC methods `demo.<name>.*`.

Every demo gets the same five methods (registered by `register`):

    demo.<name>.setup(options)   build the networks and data; returns the first view
    demo.<name>.run(maxSeconds, maxSteps)   train until paused (or a limit); streams views as
                                 {event: "demo", demo: <name>, ...view} at most every `view_seconds`
    demo.<name>.step(count)      `count` steps at once; returns the view (the page's Step button)
    demo.<name>.pause()          stop a running `run` after its current step
    demo.<name>.view()           the current view

plus any `actions` a demo lists (e.g. `demo.clicks.addPoint`). A demo implements `setup(**options)`,
`advance()` (one step of its work) and `view()` (a JSON dict for the page: metrics, curves and
pixels as base64). `run` works in time slices and awaits `asyncio.sleep(0)` between them, so a
pause request reaches the worker while training runs (as pyengine.playground does).

The page side is web/demos/ (one page per demo, shared helpers in demo.js).
"""
from __future__ import annotations

import base64
import importlib

import numpy as np

from .. import rpc
from ..train import run_sliced

CHUNK_SECONDS = 0.05  # longest stretch of work between two yields to the worker's event loop
MNIST_PATH = "/data/mnist.bin"
DEMO_MODULES = ("race", "clicks", "mnist", "overfit", "residual", "paint", "autoencoder", "transfer", "pruning", "gan", "charrnn", "dqn", "search", "pong", "backprop", "dilation", "vgg")

DEMOS: dict[str, type] = {}  # name -> Demo subclass
ACTIVE: dict[str, "Demo"] = {}  # name -> the set-up instance


def fail(message, kind="DemoError"):
    raise rpc.RpcError(message, kind)


def b64(array) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def to_u8(values, lo=None, hi=None):
    """Scale to 0..255 over [lo, hi] (default: the array's own range)."""
    v = np.asarray(values, dtype=np.float32)
    lo = float(v.min()) if lo is None else lo
    hi = float(v.max()) if hi is None else hi
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    return np.clip((v - lo) * scale, 0, 255).astype(np.uint8)


def thin(values, limit=400):
    """At most `limit` evenly spaced points of a curve (charts need no more)."""
    stride = max(1, len(values) // limit)
    return [float(v) for v in values[::stride]], stride


def option(options, key, default, lo, hi, kind=float):
    """A numeric option checked against [lo, hi]; a clear message otherwise."""
    value = options.get(key, default)
    try:
        value = kind(value)
    except (TypeError, ValueError):
        fail(f"{key} must be a number, got {value!r}", "BadParams")
    if not lo <= value <= hi:
        fail(f"{key} must be between {lo} and {hi}, got {value}", "BadParams")
    return value


async def load_mnist_arrays(count, seed=0, size=28, digits=None):
    """`count` shuffled MNIST digits (the file is grouped by label) as float32 (n, size, size, 1)."""
    from .. import data
    try:
        from nnplay_worker import loadMnist  # the worker's JS function (only in the browser)
        await loadMnist()
        path = MNIST_PATH
    except ImportError:
        path = MNIST_FILE_FOR_TESTS or MNIST_PATH
    try:
        images, labels = data.load_mnist(path)
    except OSError as e:
        fail(f"MNIST is not available: {e}", "DataError")
    if digits is not None:
        keep = np.isin(labels, digits)
        images, labels = images[keep], labels[keep]
    order = np.random.default_rng(seed).permutation(len(images))[:count]
    halve = size == 14  # 2x2 average pooling: 4x fewer inputs for the dense-net demos
    crop = size if size < images.shape[1] and not halve else None  # else the central size x size
    x, y = data.mnist_arrays(images[order], labels[order], crop=crop)
    if halve:
        x = x.reshape(len(x), 14, 2, 14, 2, 1).mean(axis=(2, 4))
    return x, y


MNIST_FILE_FOR_TESTS = None  # CPython tests point this at dist/data/mnist.bin
ASSET_DIR_FOR_TESTS = None  # and this at web/ (where the demos' shipped files live)


async def load_asset(path):
    """Bytes of a file the site serves (e.g. "demos/weights/x.nnp"), fetched from the page's origin."""
    if ASSET_DIR_FOR_TESTS is not None:
        try:
            with open(f"{ASSET_DIR_FOR_TESTS}/{path}", "rb") as f:
                return f.read()
        except OSError as e:
            fail(f"{path} is missing: {e}", "DataError")
    import js  # Pyodide: the worker's global scope
    from pyodide.http import pyfetch
    from urllib.parse import urljoin
    url = urljoin(str(js.location.href), path)  # relative to worker.js, i.e. the site's root
    response = await pyfetch(url)
    if not response.ok:
        fail(f"{path} could not be loaded (HTTP {response.status}); rebuild with python3 build.py", "DataError")
    return await response.bytes()


class Demo:
    """One demo's state in the worker. Subclasses set `name` and implement setup/advance/view."""

    name = ""
    view_seconds = 0.25  # least time between two streamed views
    actions: tuple[str, ...] = ()  # extra RPC methods: demo.<name>.<action> -> self.<action>(**params)

    def __init__(self):
        self.steps = 0
        self.running = False
        self.pause_requested = False

    async def setup(self, **options):
        raise NotImplementedError

    def advance(self):
        raise NotImplementedError

    def view(self):
        raise NotImplementedError

    def _view(self):
        return {"demo": self.name, "steps": self.steps, "running": self.running, **self.view()}

    def step(self, count=1):
        count = int(option({"count": count}, "count", 1, 1, 10000, int))
        if self.running:
            fail("the demo is running: pause it first", "Busy")
        for _ in range(count):
            self.advance()
            self.steps += 1
        return self._view()

    async def run(self, max_seconds=None, max_steps=None):
        """Advance in time slices (pyengine.train.run_sliced, the playground's loop too) until paused,
        a limit or the demo's own end; streams a view at most every `view_seconds`."""
        if self.running:
            fail("the demo is already running", "Busy")
        self.running, self.pause_requested = True, False

        def step():
            if self.advance() is False:  # the demo says it has finished
                return "finished"
            self.steps += 1
            return None

        try:
            await run_sliced(step, max_steps=max_steps, max_seconds=max_seconds,
                             should_stop=lambda: "paused" if self.pause_requested else None,
                             on_progress=lambda: rpc.emit("demo", **self._view()), final_progress=False,
                             slice_seconds=CHUNK_SECONDS, progress_seconds=self.view_seconds)
        finally:
            self.running = False
        view = self._view()
        rpc.emit("demo", **view)
        return view


def register(cls):
    """Register a Demo subclass and its RPC methods demo.<name>.*"""
    name = cls.name
    DEMOS[name] = cls

    def current():
        demo = ACTIVE.get(name)
        if demo is None:
            fail(f"demo '{name}' is not set up: call demo.{name}.setup first", "NotSetUp")
        return demo

    async def setup(options=None):
        old = ACTIVE.get(name)
        if old is not None and old.running:
            old.pause_requested = True
            fail("the demo is running: pause it before setting it up again", "Busy")
        if options is not None and not isinstance(options, dict):
            fail("options must be an object", "BadParams")
        demo = cls()
        await demo.setup(**(options or {}))
        ACTIVE[name] = demo
        return demo._view()

    def pause():
        demo = current()
        demo.pause_requested = demo.running
        return {"paused": demo.running}

    rpc.method(f"demo.{name}.setup")(setup)
    rpc.method(f"demo.{name}.run")(lambda maxSeconds=None, maxSteps=None: current().run(maxSeconds, maxSteps))
    rpc.method(f"demo.{name}.step")(lambda count=1: current().step(count))
    rpc.method(f"demo.{name}.pause")(pause)
    rpc.method(f"demo.{name}.view")(lambda: current()._view())
    for action in cls.actions:
        rpc.method(f"demo.{name}.{action}")(
            lambda _action=action, **params: getattr(current(), _action)(**params))
    return cls


def load_all():
    for module in DEMO_MODULES:
        importlib.import_module(f"{__name__}.{module}")


load_all()
