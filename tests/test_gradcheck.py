"""Analytic gradients vs central finite differences, in float64, for every op, layer type and loss."""
import types

import numpy as np
import pytest

from pyengine import layers, losses, ops
from pyengine.tensor import Parameter, Tensor, no_grad

EPS = 1e-6


def _numeric_grad(f, a, eps=EPS):
    """Central differences of the scalar f() w.r.t. every element of `a` (mutated in place, restored)."""
    g = np.zeros_like(a)
    flat, gflat = a.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return g


def gradcheck(fn, *arrays, atol=1e-6, rtol=1e-5, seed=0):
    """fn(*Tensors) -> Tensor. Checks d sum(fn * R)/d input for every float input (R random, fixed)."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    assert out.dtype == np.float64, "float64 inputs must stay float64"
    r = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(r)

    def objective():
        with no_grad():
            return float((fn(*[Tensor(a) for a in arrays]).data * r).sum())

    for k, (a, t) in enumerate(zip(arrays, tensors)):
        assert t.grad is not None, f"input {k} got no gradient"
        assert t.grad.shape == a.shape and t.grad.dtype == np.float64
        np.testing.assert_allclose(t.grad, _numeric_grad(objective, a), atol=atol, rtol=rtol,
                                   err_msg=f"gradient of input {k}")


def rand(*shape, seed=1, away_from_zero=False):
    x = np.random.default_rng(seed + 17 * len(shape)).standard_normal(shape)
    if away_from_zero:  # keep clear of kinks (relu at 0) so finite differences are valid
        x = np.where(x >= 0, x + 0.1, x - 0.1)
    return x


# ---- arithmetic, reductions, shapes -----------------------------------------------------------
def test_add_sub_mul_div_with_broadcasting():
    gradcheck(lambda a, b: (a + b) * a - b / (a * a + 1.0), rand(3, 4), rand(4))
    gradcheck(lambda a, b: a / b, rand(2, 3), rand(2, 1, away_from_zero=True) + 3.0)


def test_neg_pow_exp_log():
    gradcheck(lambda a: (-a) ** 3 + (a * a + 1.0).log() + a.exp(), rand(2, 3))


def test_scalar_on_the_left_of_operators():
    gradcheck(lambda a: 2.0 - a + 3.0 * a + 1.0 / (a * a + 2.0), rand(5))


def test_sum_and_mean_over_axes():
    gradcheck(lambda a: a.sum(axis=1) * a.mean(axis=(0, 2), keepdims=True).sum(), rand(2, 3, 4))
    gradcheck(lambda a: a.mean() + a.sum(axis=-1, keepdims=True), rand(3, 2))


def test_reshape_transpose_getitem_flatten():
    gradcheck(lambda a: a.reshape(4, 6).transpose(1, 0)[1:5:2] * 2.0, rand(2, 3, 4))
    gradcheck(lambda a: ops.flatten(a)[[0, 0, 1]], rand(2, 2, 3))  # repeated rows accumulate


def test_matmul_2d_and_batched():
    gradcheck(lambda a, b: a @ b, rand(3, 4), rand(4, 2))
    gradcheck(lambda a, b: ops.matmul(a, b), rand(2, 3, 4), rand(4, 5))


def test_dense_with_bias_fused_relu_and_3d_input():
    gradcheck(lambda x, w, b: ops.dense(x, w, b), rand(3, 4), rand(4, 5), rand(5))
    gradcheck(lambda x, w: ops.dense(x, w), rand(2, 3, 4), rand(4, 2))
    x, w, b = rand(4, 3), rand(3, 5), rand(5)
    assert np.abs(x @ w + b).min() > 1e-3  # no pre-activation sits on the relu kink
    gradcheck(lambda x, w, b: ops.dense(x, w, b, relu=True), x, w, b)


# ---- convolution and pooling --------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, xshape, wshape", [
    (dict(strides=2, pads=((0, 1), (0, 1))), (2, 6, 6, 2), (3, 3, 2, 3)),   # stride 2, TF "same"
    (dict(strides=1, pads=1), (1, 5, 4, 2), (3, 3, 2, 2)),                   # int padding, stride 1
    (dict(strides=1, pads=((1, 2), (0, 1)), dilation=2), (1, 7, 6, 2), (2, 3, 2, 2)),  # dilation 2
    (dict(strides=1, pads=0), (2, 3, 4, 3), (1, 1, 3, 4)),                   # 1x1 kernel
    (dict(strides=(2, 1), pads=((2, 3), (3, 0))), (1, 5, 5, 1), (2, 2, 1, 2)),  # pad > kernel: col2im
])
def test_conv2d_gradients(kwargs, xshape, wshape):
    gradcheck(lambda x, w, b: ops.conv2d(x, w, b, **kwargs), rand(*xshape), rand(*wshape), rand(wshape[-1]))


def test_conv2d_with_fused_relu():
    gradcheck(lambda x, w: ops.conv2d(x, w, None, pads=1, relu=True), rand(1, 4, 4, 2), rand(3, 3, 2, 2))


@pytest.mark.parametrize("pool, strides, pads, shape", [
    (2, 2, 0, (2, 4, 6, 2)),                   # non-overlapping
    (2, 2, ((0, 1), (0, 1)), (1, 5, 5, 2)),    # "same" padding on odd sizes
    (3, 2, ((1, 1), (1, 1)), (1, 5, 6, 2)),    # overlapping windows with padding
    (3, 3, 0, (1, 7, 7, 1)),                   # uncovered last row/column
])
def test_maxpool_and_avgpool_gradients(pool, strides, pads, shape):
    x = rand(*shape)
    gradcheck(lambda x: ops.maxpool2d(x, pool, strides, pads), x)
    gradcheck(lambda x: ops.avgpool2d(x, pool, strides, pads), x)


def test_global_avgpool_gradient():
    gradcheck(ops.global_avgpool2d, rand(2, 3, 2, 3))


# ---- normalisation -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 2, 4)], ids=["features", "channels"])
def test_batchnorm_training_gradients(shape):
    c = shape[-1]
    rm, rv = np.zeros(c), np.ones(c)
    gradcheck(lambda x, g, b: ops.batchnorm(x, g, b, rm, rv, momentum=0.9, eps=1e-3, training=True),
              rand(*shape), rand(c) + 1.5, rand(c))


def test_batchnorm_eval_gradients():
    rm, rv = rand(3), np.abs(rand(3)) + 0.5
    gradcheck(lambda x, g, b: ops.batchnorm(x, g, b, rm, rv, training=False), rand(4, 3), rand(3), rand(3))


def test_layernorm_gradients():
    gradcheck(lambda x, g, b: ops.layernorm(x, g, b, eps=1e-3), rand(2, 3, 5), rand(5), rand(5))


# ---- recurrent -----------------------------------------------------------------------------------
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_rnn_gradients(return_sequences, activation):
    n, t, f, u = 2, 4, 3, 3
    gradcheck(lambda x, wi, wh, b: ops.rnn(x, wi, wh, b, activation, return_sequences),
              rand(n, t, f), rand(f, u) * 0.5, rand(u, u) * 0.5, rand(u) * 0.1)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_lstm_gradients(return_sequences):
    n, t, f, u = 2, 3, 3, 2
    gradcheck(lambda x, wi, wh, b: ops.lstm(x, wi, wh, b, return_sequences),
              rand(n, t, f), rand(f, 4 * u) * 0.5, rand(u, 4 * u) * 0.5, rand(4 * u) * 0.5)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_gru_gradients(return_sequences):
    n, t, f, u = 2, 3, 3, 2
    gradcheck(lambda x, wi, wh, bi, bh: ops.gru(x, wi, wh, bi, bh, return_sequences),
              rand(n, t, f), rand(f, 3 * u) * 0.5, rand(u, 3 * u) * 0.5, rand(3 * u) * 0.5, rand(3 * u, seed=4))


# ---- merging, embedding, dropout, maxout, activations ------------------------------------------
def test_add_of_three_inputs_and_concat():
    gradcheck(lambda a, b, c: ops.add(a, b, c) * a, rand(2, 3), rand(2, 3, seed=2), rand(2, 3, seed=3))
    gradcheck(lambda a, b: ops.concat([a, b, a], axis=-1), rand(2, 3), rand(2, 1))
    gradcheck(lambda a, b: ops.concat([a, b], axis=1), rand(2, 1, 3), rand(2, 2, 3))


def test_embedding_gradient_wrt_weight_with_repeated_ids():
    ids = np.array([[0, 2, 2], [3, 0, 1]])
    gradcheck(lambda w: ops.embedding(ids, w), rand(4, 3))


def test_dropout_with_a_fixed_mask():
    mask = (np.random.default_rng(5).random((3, 4)) >= 0.5) / 0.5
    gradcheck(lambda x: ops.dropout(x, 0.5, True, mask=mask), rand(3, 4))
    # the same seed gives the same mask, so the rng path is differentiable too
    gradcheck(lambda x: ops.dropout(x, 0.3, True, np.random.default_rng(7)), rand(3, 4))


def test_maxout_gradient():
    gradcheck(lambda x: ops.maxout(x, 3), rand(2, 2, 6))


@pytest.mark.parametrize("fn", [
    ops.relu, lambda x: ops.leaky_relu(x, 0.2), lambda x: ops.elu(x, 0.7), ops.gelu, ops.sigmoid,
    ops.tanh, lambda x: ops.softmax(x, axis=-1), lambda x: ops.softmax(x, axis=0), ops.log_softmax,
], ids=["relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softmax", "softmax_axis0", "log_softmax"])
def test_activation_gradients(fn):
    gradcheck(fn, rand(3, 4, away_from_zero=True) * 2)


# ---- losses --------------------------------------------------------------------------------------
LABELS = np.array([0, 2, 1, 2])


@pytest.mark.parametrize("cfg, target", [
    ("softmax_cross_entropy", LABELS),
    ("softmax_cross_entropy", np.eye(3)[LABELS]),
    ("softmax_cross_entropy", np.array([[0.2, 0.3, 0.5]] * 4)),
    ("binary_cross_entropy", (np.arange(12).reshape(4, 3) % 2).astype(float)),
    ({"type": "binary_cross_entropy", "from_logits": False}, np.full((4, 3), 0.3)),
    ("mse", np.ones((4, 3))),
    ({"type": "huber", "delta": 0.7}, np.zeros((4, 3))),
    ("hinge", LABELS),
    ({"type": "hinge", "margin": 0.5}, np.eye(3)[LABELS]),
], ids=["sce_labels", "sce_onehot", "sce_probs", "bce_logits", "bce_probs", "mse", "huber", "hinge",
        "hinge_onehot"])
def test_loss_gradients(cfg, target):
    loss = losses.get_loss(cfg)
    out = rand(4, 3) * 2
    if isinstance(cfg, dict) and cfg.get("from_logits") is False:
        out = 1 / (1 + np.exp(-out))  # probabilities inside (0, 1)
    gradcheck(lambda o: loss(o, target), out)


# ---- every layer type through LAYERS -------------------------------------------------------------
def _cfg(type_, **fields):
    base = {"type": type_, "name": f"{type_}_0", "activation": None, "use_bias": True}
    base.update(fields)
    return base


LAYER_CASES = [
    (_cfg("dense", units=3, activation="tanh"), (2, 4), {"weight": (4, 3), "bias": (3,)}),
    (_cfg("dense", units=3, activation="relu"), (2, 4), {"weight": (4, 3), "bias": (3,)}),
    (_cfg("dense", units=3, activation="softmax", use_bias=False), (2, 4), {"weight": (4, 3)}),
    (_cfg("conv2d", filters=2, kernel_size=(3, 3), strides=(2, 2), pads=((0, 1), (0, 1)), dilation_rate=(1, 1),
          activation="elu"), (1, 4, 4, 2), {"weight": (3, 3, 2, 2), "bias": (2,)}),
    (_cfg("conv2d", filters=2, kernel_size=(2, 2), strides=(1, 1), pads=((1, 1), (1, 1)), dilation_rate=(1, 1),
          activation="relu"), (1, 3, 3, 1), {"weight": (2, 2, 1, 2), "bias": (2,)}),
    (_cfg("maxpool2d", pool_size=(2, 2), strides=(2, 2), pads=((0, 0), (0, 0))), (1, 4, 4, 2), {}),
    (_cfg("avgpool2d", pool_size=(3, 3), strides=(2, 2), pads=((1, 1), (1, 1))), (1, 4, 4, 2), {}),
    (_cfg("globalavgpool2d"), (2, 3, 3, 2), {}),
    (_cfg("flatten"), (2, 2, 3), {}),
    (_cfg("reshape", target_shape=[3, 2]), (2, 6), {}),
    (_cfg("dropout", rate=0.0), (2, 3), {}),
    (_cfg("batchnorm", momentum=0.99, epsilon=1e-3), (4, 3), {"gamma": (3,), "beta": (3,),
                                                            "running_mean": (3,), "running_var": (3,)}),
    (_cfg("layernorm", epsilon=1e-3), (2, 4), {"gamma": (4,), "beta": (4,)}),
    (_cfg("rnn", units=2, activation="tanh", return_sequences=True), (2, 3, 2),
     {"weight_ih": (2, 2), "weight_hh": (2, 2), "bias": (2,)}),
    (_cfg("lstm", units=2, return_sequences=False), (2, 3, 2),
     {"weight_ih": (2, 8), "weight_hh": (2, 8), "bias": (8,)}),
    (_cfg("gru", units=2, return_sequences=True), (2, 3, 2),
     {"weight_ih": (2, 6), "weight_hh": (2, 6), "bias_ih": (6,), "bias_hh": (6,)}),
    (_cfg("relu"), (2, 3), {}),
    (_cfg("sigmoid"), (2, 3), {}),
    (_cfg("tanh"), (2, 3), {}),
    (_cfg("gelu"), (2, 3), {}),
    (_cfg("leaky_relu", alpha=0.3), (2, 3), {}),
    (_cfg("elu", alpha=1.0), (2, 3), {}),
    (_cfg("softmax", axis=-1), (2, 3), {}),
    (_cfg("maxout", pieces=2), (2, 4), {}),
]


@pytest.mark.parametrize("cfg, xshape, pshapes", LAYER_CASES, ids=[c[0]["type"] for c in LAYER_CASES])
def test_layer_gradients(cfg, xshape, pshapes):
    impl = layers.LAYERS[cfg["type"]]
    init = impl.init(cfg, pshapes, np.random.default_rng(0)) if pshapes else {}
    names = [k for k in pshapes if not k.startswith("running_")]
    running = {k: init[k].astype(np.float64) for k in pshapes if k.startswith("running_")}
    ctx = types.SimpleNamespace(training=True, rng=np.random.default_rng(0))
    # random (not init) values so biases, gamma and beta are exercised away from 0/1
    values = [rand(*pshapes[k], seed=3 + i) * 0.5 for i, k in enumerate(names)]

    def run(x, *ps):
        params = dict(zip(names, ps))
        params.update({k: Parameter(v, trainable=False) for k, v in running.items()})
        return impl.forward(cfg, params, [x], ctx)

    gradcheck(run, rand(*xshape, away_from_zero=True), *values)


def test_add_and_concat_layers_gradients():
    ctx = types.SimpleNamespace(training=True, rng=None)
    gradcheck(lambda a, b: layers.LAYERS["add"].forward(_cfg("add"), {}, [a, b], ctx), rand(2, 3), rand(2, 3, seed=2))
    gradcheck(lambda a, b: layers.LAYERS["concat"].forward(_cfg("concat", axis=-1), {}, [a, b], ctx),
              rand(2, 2), rand(2, 3))


def test_embedding_layer_gradient_wrt_weight():
    ids = Tensor(np.array([[1.0, 0.0, 1.0]]))  # float ids are cast
    ctx = types.SimpleNamespace(training=True, rng=None)
    cfg = _cfg("embedding", input_dim=3, output_dim=2)
    gradcheck(lambda w: layers.LAYERS["embedding"].forward(cfg, {"weight": w}, [ids], ctx), rand(3, 2))
