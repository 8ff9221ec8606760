"""Every WGSL kernel against pyengine's NumPy path, in the worker on SwiftShader's WebGPU adapter.

Shapes are random-valued and chosen to hit the edges: sizes that are not multiples of the 64 x 64
tile, batch 1, 1x1 kernels, stride 2, padding, dilation, forced tile shapes and split-K.

The error measure is the issue's "max relative error", taken norm-wise: max |GPU - NumPy| divided
by max |NumPy| over the whole result (the infinity-norm relative error that BLAS test suites use),
bound 1e-4; the NumPy reference is float64 where it matters. Elementwise |diff| / |NumPy| would not
measure the kernels: float32 rounding error in a sum of K products is proportional to the size of
the products, not of the sum, so an output that nearly cancels (0.001 from terms of size 1) has a
large elementwise relative error in any float32 implementation, NumPy's own float32 included.
Measured on SwiftShader and lavapipe: 1e-8 to 5e-7, far inside the bound.
"""
import pytest

TOLERANCE = 1e-4

PRELUDE = """
import numpy as np
from pyengine.backends import numpy_backend as nb
from pyengine.backends.webgpu import device, kernels
E = kernels.Eager(device.get_device())
rng = np.random.default_rng(1)
def rnd(*shape):
    return rng.standard_normal(shape).astype(np.float32)
def err(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-6))
errors = {}
"""


def run_checks(webgpu_booted, code):
    errors = webgpu_booted.run(PRELUDE + code + "\nE.release()\nerrors")
    bad = {k: v for k, v in errors.items() if not v <= TOLERANCE}
    assert not bad, bad
    assert errors
    return errors


def test_matmul_matches_numpy_on_edge_shapes_batches_and_transposes(webgpu_booted):
    run_checks(webgpu_booted, """
for m, k, n in [(1, 1, 1), (5, 7, 3), (65, 33, 70), (128, 64, 96), (1, 200, 10), (130, 12, 129)]:
    a, b = rnd(m, k), rnd(k, n)
    want = a.astype(np.float64) @ b
    errors[f"{m}x{k}x{n}"] = err(E.matmul(a, b), want)
    errors[f"{m}x{k}x{n} A^T"] = err(E.matmul(np.ascontiguousarray(a.T), b, trans_a=True), want)
    errors[f"{m}x{k}x{n} B^T"] = err(E.matmul(a, np.ascontiguousarray(b.T), trans_b=True), want)
a, b = rnd(3, 17, 9), rnd(3, 9, 20)
errors["batched 3"] = err(E.matmul(a, b), a.astype(np.float64) @ b)
b2 = rnd(9, 20)
errors["batched, b broadcast"] = err(E.matmul(a, b2), a.astype(np.float64) @ b2)
a, b, bias = rnd(33, 16), rnd(16, 12), rnd(12)
errors["bias + relu epilogue"] = err(E.matmul(a, b, bias=bias, act="relu"), np.maximum(a.astype(np.float64) @ b + bias, 0))
# Forced tile shapes (TX, TY) and split-K (3 leaves a ragged last split; 8 > K/16 leaves empty ones),
# through both loaders, with the epilogue moved into the reduction.
for shape in [(2, 4, 1), (4, 16, 3), (16, 2, 8)]:
    for m, k, n in [(5, 7, 3), (70, 300, 36)]:
        a, b, bias = rnd(m, k), rnd(k, n), rnd(n)
        want = np.tanh(a.astype(np.float64) @ b + bias)
        errors[f"{m}x{k}x{n} tiles {shape}"] = err(E.matmul(a, b, bias=bias, act="tanh", shape=shape), want)
        a2, b2 = rnd(2, m, 4 * k), rnd(2, 4 * k, 4 * n)
        errors[f"{m}x{k}x{n} vec4 batched tiles {shape}"] = err(E.matmul(a2, b2, shape=shape), a2.astype(np.float64) @ b2)
""")


CONV_CASES = """
CASES = [  # (x shape, (kh, kw, f), strides, pads, dilation)
    ((1, 7, 7, 3), (3, 3, 5), (1, 1), ((1, 1), (1, 1)), (1, 1)),      # batch 1, "same"
    ((2, 9, 11, 4), (1, 1, 6), (1, 1), ((0, 0), (0, 0)), (1, 1)),     # 1x1 kernel
    ((2, 10, 9, 3), (3, 3, 4), (2, 2), ((1, 0), (1, 1)), (1, 1)),     # stride 2, uneven padding
    ((1, 12, 12, 2), (3, 3, 3), (1, 1), ((2, 2), (2, 2)), (2, 2)),    # dilation 2
    ((3, 13, 13, 5), (5, 5, 67), (1, 2), ((2, 2), (0, 1)), (1, 1)),   # F not a tile multiple, mixed strides
    ((4, 24, 24, 1), (5, 5, 8), (1, 1), ((2, 2), (2, 2)), (1, 1)),    # MNIST conv1: M = 2304 rows
]
"""


def test_conv2d_forward_matches_numpy_including_bias_and_activation(webgpu_booted):
    run_checks(webgpu_booted, CONV_CASES + """
for i, (xs, (kh, kw, f), s, p, d) in enumerate(CASES):
    x, w, b = rnd(*xs), rnd(kh, kw, xs[3], f), rnd(f)
    want, _ = nb.conv2d_forward(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), s, p, d)
    errors[f"case {i}"] = err(E.conv2d(x, w, b, s, p, d), want)
    errors[f"case {i} relu"] = err(E.conv2d(x, w, b, s, p, d, act="relu"), np.maximum(want, 0))
    errors[f"case {i} relu, split-K"] = err(E.conv2d(x, w, b, s, p, d, act="relu", shape=(4, 8, 3)), np.maximum(want, 0))
""")


def test_conv2d_backward_for_input_and_weights_matches_numpy(webgpu_booted):
    run_checks(webgpu_booted, CONV_CASES + """
for i, (xs, (kh, kw, f), s, p, d) in enumerate(CASES):
    x, w = rnd(*xs).astype(np.float64), rnd(kh, kw, xs[3], f).astype(np.float64)
    y, cols = nb.conv2d_forward(x, w, None, s, p, d)
    dy = rng.standard_normal(y.shape)
    want_dx = nb.conv2d_backward_input(dy, w, x.shape, s, p, d)
    want_dw = nb.conv2d_backward_weight(dy, cols, w.shape)
    errors[f"case {i} dx"] = err(E.conv2d_grad_input(dy.astype(np.float32), w, x.shape, s, p, d), want_dx)
    errors[f"case {i} dw"] = err(E.conv2d_grad_weight(x, dy.astype(np.float32), w.shape, s, p, d), want_dw)
    errors[f"case {i} dx, split-K"] = err(E.conv2d_grad_input(dy.astype(np.float32), w, x.shape, s, p, d, shape=(2, 16, 2)), want_dx)
    errors[f"case {i} dw, 64x64 tiles"] = err(E.conv2d_grad_weight(x, dy.astype(np.float32), w.shape, s, p, d, shape=(16, 16, 1)), want_dw)
""")


def test_pooling_forward_and_backward_match_numpy(webgpu_booted):
    run_checks(webgpu_booted, """
CASES = [((2, 8, 8, 3), (2, 2), (2, 2), ((0, 0), (0, 0))),
         ((1, 9, 7, 4), (3, 3), (2, 2), ((1, 1), (1, 1))),     # overlapping windows, padding
         ((3, 24, 24, 8), (3, 3), (3, 3), ((0, 0), (0, 0))),   # MNIST pool2 geometry
         ((2, 5, 6, 3), (5, 6), (1, 1), ((0, 0), (0, 0)))]     # global average pooling
for i, (xs, pool, s, p) in enumerate(CASES):
    x = rnd(*xs)
    y, idx = nb.maxpool2d_forward(x, pool, s, p)
    gy, gidx = E.maxpool(x, pool, s, p)
    errors[f"max {i}"] = err(gy, y)
    errors[f"max {i} argmax"] = float((gidx != idx).mean())
    dy = rnd(*y.shape)
    errors[f"max {i} grad"] = err(E.maxpool_grad(dy, idx.astype(np.uint32), xs, pool, s, p),
                                  nb.maxpool2d_backward(dy, idx, xs, pool, s, p))
    ya, counts = nb.avgpool2d_forward(x, pool, s, p)
    errors[f"avg {i}"] = err(E.avgpool(x, pool, s, p), ya)
    errors[f"avg {i} grad"] = err(E.avgpool_grad(dy, xs, pool, s, p), nb.avgpool2d_backward(dy, counts, xs, pool, s, p))
""")


def test_activations_bias_gradient_and_every_loss_match_the_engine(webgpu_booted):
    run_checks(webgpu_booted, """
import pyengine
from pyengine import losses
from pyengine.tensor import Tensor
z = rnd(7, 45) * 3
for act in ["relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh"]:
    zt = Tensor(z.astype(np.float64), requires_grad=True)
    model = pyengine.build({"input": [45], "layers": [{"type": act}], "loss": "mse", "optimizer": {"type": "sgd"}})
    yt = model.forward(zt)
    dy = rnd(7, 45)
    (yt * Tensor(dy.astype(np.float64))).sum().backward()
    y = E.activation(z, act)
    errors[act] = err(y, yt.data)
    errors[act + " grad"] = err(E.activation_grad(z, y, dy, act), zt.grad)
dy = rnd(1000, 9)
errors["bias grad"] = err(E.colsum(dy), dy.astype(np.float64).sum(axis=0))
out, labels = rnd(37, 10), rng.integers(0, 10, 37)
target = np.eye(10, dtype=np.float32)[labels]
soft = rng.random((37, 10)).astype(np.float32)
binary = (rng.random((37, 10)) < 0.5).astype(np.float32)
probs = 1 / (1 + np.exp(-out))
probs[0, :3] = [0.0, 1.0, 1e-9]  # outside the clip: zero gradient there
CASES = [("softmax_cross_entropy", out, labels, target), ("softmax_cross_entropy", out, soft, soft),
         ("mse", out, target, target), ({"type": "huber", "delta": 0.5}, out, soft, soft),
         ({"type": "hinge", "margin": 1.0}, out, labels, target), ({"type": "hinge", "margin": 0.3}, out, labels, target),
         ("binary_cross_entropy", out * 4, binary, binary),
         ({"type": "binary_cross_entropy", "from_logits": False}, probs, binary, binary),
         ("mse", rnd(6, 3, 4), None, None)]  # a sequence output: rows are (batch, time)
for i, (kind, o, tgt, gpu_tgt) in enumerate(CASES):
    if tgt is None:
        tgt = gpu_tgt = rnd(*o.shape)
    # float32 reference for probabilities: the clip is float32's eps there, as in training
    ot = Tensor(o.astype(np.float32 if isinstance(kind, dict) and "from_logits" in kind else np.float64),
                requires_grad=True)
    lt = losses.get_loss(kind)(ot, tgt)
    lt.backward()
    loss, grad = E.loss(o, gpu_tgt, kind)
    errors[f"{i} {kind}"] = err(loss, lt.data)
    errors[f"{i} {kind} grad"] = err(grad, ot.grad)
""")


def test_joins_dropout_mask_softmax_and_maxout_match_numpy(webgpu_booted):
    run_checks(webgpu_booted, """
from pyengine import ops
from pyengine.tensor import Tensor
a, b = rnd(3, 5, 7), rnd(3, 5, 7)
errors["add"] = err(E.add(a, b), a.astype(np.float64) + b)
mask = (rng.random(a.shape) >= 0.3) * np.float32(1 / 0.7)
errors["dropout mask"] = err(E.mul(a, mask), a * mask)
for axis in (-1, 1, 2):
    xs = [rnd(2, 3, 4, 2), rnd(2, 3, 4, 2)]
    xs[1] = np.concatenate([xs[1]] * (1 + (axis == 1)), axis=axis)
    errors[f"concat axis {axis}"] = err(E.concat(xs, axis), np.concatenate(xs, axis=axis))
    g = rnd(*np.concatenate(xs, axis=axis).shape)
    for j, part in enumerate(E.split(g, [x.shape[axis] for x in xs], axis)):
        errors[f"concat axis {axis} grad {j}"] = err(part, np.split(g, [xs[0].shape[axis]], axis=axis)[j])
for axis in (-1, 1):
    x = rnd(3, 6, 5) * 3
    xt = Tensor(x.astype(np.float64), requires_grad=True)
    yt = ops.softmax(xt, axis=axis)
    dy = rnd(*x.shape)
    (yt * Tensor(dy.astype(np.float64))).sum().backward()
    y = E.softmax(x, axis)
    errors[f"softmax axis {axis}"] = err(y, yt.data)
    errors[f"softmax axis {axis} grad"] = err(E.softmax_grad(y, dy, axis), xt.grad)
for pieces in (2, 3):
    x = rnd(4, 5, 6 * pieces)
    x[0, 0, :pieces] = 1.0  # ties: the first maximum wins, as np.argmax
    xt = Tensor(x.astype(np.float64), requires_grad=True)
    yt = ops.maxout(xt, pieces)
    dy = rnd(*yt.shape)
    (yt * Tensor(dy.astype(np.float64))).sum().backward()
    y, idx = E.maxout(x, pieces)
    errors[f"maxout {pieces}"] = err(y, yt.data)
    errors[f"maxout {pieces} grad"] = err(E.maxout_grad(dy, idx, pieces), xt.grad)
""")


def test_batchnorm_layernorm_and_embedding_match_numpy(webgpu_booted):
    run_checks(webgpu_booted, """
from pyengine import ops
from pyengine.tensor import Tensor
for training in (True, False):
    for shape in [(37, 5), (3, 4, 6, 2), (300, 3)]:
        c = shape[-1]
        x = rnd(*shape) * 2 + 1
        gamma, beta = rnd(c), rnd(c)
        rm, rv = rnd(c), np.abs(rnd(c)) + 0.5
        rm64, rv64 = rm.astype(np.float64), rv.astype(np.float64)
        xt, gt, bt = (Tensor(v.astype(np.float64), requires_grad=True) for v in (x, gamma, beta))
        yt = ops.batchnorm(xt, gt, bt, rm64, rv64, momentum=0.9, eps=1e-3, training=training)
        dy = rnd(*shape)
        (yt * Tensor(dy.astype(np.float64))).sum().backward()
        y, xhat, stats, new_rm, new_rv = E.batchnorm(x, gamma, beta, rm, rv, 0.9, 1e-3, training)
        key = f"batchnorm {shape} {'training' if training else 'eval'}"
        errors[key] = err(y, yt.data)
        errors[key + " running mean"] = err(new_rm, rm64)
        errors[key + " running var"] = err(new_rv, rv64)
        dx, dgamma, dbeta = E.batchnorm_grad(dy, xhat, stats, gamma, training)
        errors[key + " dx"] = err(dx, xt.grad)
        errors[key + " dgamma"] = err(dgamma, gt.grad)
        errors[key + " dbeta"] = err(dbeta, bt.grad)
for shape in [(9, 7), (2, 3, 16)]:
    c = shape[-1]
    x, gamma, beta = rnd(*shape) * 3, rnd(c), rnd(c)
    xt, gt, bt = (Tensor(v.astype(np.float64), requires_grad=True) for v in (x, gamma, beta))
    yt = ops.layernorm(xt, gt, bt, eps=1e-3)
    dy = rnd(*shape)
    (yt * Tensor(dy.astype(np.float64))).sum().backward()
    y, xhat, inv = E.layernorm(x, gamma, beta, 1e-3)
    errors[f"layernorm {shape}"] = err(y, yt.data)
    dx, dgamma, dbeta = E.layernorm_grad(dy, gamma, xhat, inv)
    errors[f"layernorm {shape} dx"] = err(dx, xt.grad)
    errors[f"layernorm {shape} dgamma"] = err(dgamma, gt.grad)
    errors[f"layernorm {shape} dbeta"] = err(dbeta, bt.grad)
ids = rng.integers(0, 11, (5, 8))
ids[0, :4] = 3  # repeated ids accumulate
w = rnd(11, 6)
wt = Tensor(w.astype(np.float64), requires_grad=True)
yt = ops.embedding(ids, wt)
dy = rnd(5, 8, 6)
(yt * Tensor(dy.astype(np.float64))).sum().backward()
errors["embedding"] = err(E.embedding(ids.astype(np.float32), w), yt.data)
errors["embedding grad"] = err(E.embedding_grad(ids.astype(np.float32), dy, 11), wt.grad)
""")


def test_optimizer_updates_match_pyengine_optim(webgpu_booted):
    run_checks(webgpu_booted, """
from pyengine import optim
from pyengine.tensor import Parameter
for cfg in [{"type": "sgd", "lr": 0.1, "l2": 0.01}, {"type": "momentum", "lr": 0.05},
            {"type": "nesterov", "lr": 0.05}, {"type": "adagrad"}, {"type": "rmsprop"},
            {"type": "adadelta"}, {"type": "adam", "l1": 0.001}, {"type": "adamw"},
            {"type": "sgd", "lr": 0.1, "clipvalue": 0.5}]:
    opt = optim.make_optimizer(cfg)
    full = opt.config
    p = Parameter(rnd(50, 3)); p.name = "w"; p.trainable = True; p.decay = True
    w, slots = p.data.copy(), [np.zeros_like(p.data) for _ in range(2 if full["type"] in ("adadelta", "adam", "adamw") else 1)]
    if full["type"] == "sgd": slots = []
    for t in range(1, 4):
        g = rnd(50, 3)
        p.grad = g
        opt.step([p])
        w, slots = E.optimizer_step(full, w, g, slots, t=t)
    errors[str(cfg)] = err(w, p.data)
# A non-finite loss leaves the weights untouched (the plan's NaN guard).
w = rnd(10)
errors["nan loss skips"] = err(E.optimizer_step({"type": "sgd", "lr": 1.0, "l1": 0.0, "l2": 0.0, "clipvalue": None}, w, rnd(10), (), loss=float("nan"))[0], w)
""")
