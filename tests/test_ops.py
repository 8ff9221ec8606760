"""Forward values against slow, obviously-correct references, plus op behaviours (dtype, modes, stats)."""
import types
import warnings

import numpy as np
import pytest

from pyengine import layers, losses, ops
from pyengine.backends import numpy_backend as nb
from pyengine.tensor import Parameter, Tensor, no_grad

RNG = np.random.default_rng(0)


# ---- slow references ----------------------------------------------------------------------------
def conv2d_naive(x, w, b, strides, pads, dilation):
    """Direct loops over every output cell and kernel tap; padding read as zeros."""
    n, h, wd, c = x.shape
    kh, kw, _, f = w.shape
    (sh, sw), (dh, dw), ((pt, pb), (pl, pr)) = strides, dilation, pads
    oh = (h + pt + pb - (kh - 1) * dh - 1) // sh + 1
    ow = (wd + pl + pr - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((n, oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b_ in range(kw):
                    r, q = i * sh + a * dh - pt, j * sw + b_ * dw - pl
                    if 0 <= r < h and 0 <= q < wd:
                        out[:, i, j, :] += x[:, r, q, :] @ w[a, b_]
    return out + (0 if b is None else b)


def pool_naive(x, pool, strides, pads, kind):
    """Max (padding never wins) or average over the real cells only."""
    n, h, wd, c = x.shape
    (ph, pw), (sh, sw), ((pt, pb), (pl, pr)) = pool, strides, pads
    oh, ow = (h + pt + pb - ph) // sh + 1, (wd + pl + pr - pw) // sw + 1
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, q0 = i * sh - pt, j * sw - pl
            win = x[:, max(r0, 0):min(r0 + ph, h), max(q0, 0):min(q0 + pw, wd), :]
            out[:, i, j, :] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return out


CONV_CASES = [  # (x shape, w shape, strides, pads, dilation): odd sizes, asymmetric pads
    ((2, 7, 5, 3), (3, 3, 3, 4), (1, 1), ((1, 1), (1, 1)), (1, 1)),
    ((1, 9, 8, 2), (3, 2, 2, 3), (2, 3), ((1, 2), (0, 1)), (1, 1)),
    ((2, 9, 7, 1), (3, 3, 1, 2), (1, 1), ((2, 2), (2, 2)), (2, 2)),
    ((3, 5, 5, 4), (1, 1, 4, 5), (1, 1), ((0, 0), (0, 0)), (1, 1)),
    ((1, 6, 6, 2), (5, 5, 2, 2), (1, 1), ((2, 2), (2, 2)), (1, 1)),
    ((1, 4, 5, 1), (2, 2, 1, 1), (2, 2), ((3, 1), (0, 4)), (1, 2)),
]


@pytest.mark.parametrize("xs, ws, strides, pads, dil", CONV_CASES)
def test_conv2d_forward_matches_naive_loops(xs, ws, strides, pads, dil):
    x, w, b = RNG.standard_normal(xs), RNG.standard_normal(ws), RNG.standard_normal(ws[-1])
    got = ops.conv2d(Tensor(x), Tensor(w), Tensor(b), strides, pads, dil).data
    np.testing.assert_allclose(got, conv2d_naive(x, w, b, strides, pads, dil), atol=1e-10)


@pytest.mark.parametrize("xs, ws, strides, pads, dil", CONV_CASES)
def test_conv2d_input_grad_matches_col2im_adjoint(xs, ws, strides, pads, dil):
    """The stride-1 fast path (full conv with the flipped kernel) must equal the col2im path."""
    gy_shape = ops.conv2d(Tensor(np.zeros(xs)), Tensor(np.zeros(ws)), None, strides, pads, dil).shape
    gy, w = RNG.standard_normal(gy_shape), RNG.standard_normal(ws)
    dcols = gy.reshape(-1, ws[-1]) @ w.reshape(-1, ws[-1]).T
    expected = nb.col2im(dcols, xs, ws[0], ws[1], gy_shape[1], gy_shape[2], strides, pads, dil)
    np.testing.assert_allclose(nb.conv2d_backward_input(gy, w, xs, strides, pads, dil), expected, atol=1e-10)


def test_conv2d_fused_relu_equals_relu_of_conv():
    x, w, b = RNG.standard_normal((2, 5, 5, 2)), RNG.standard_normal((3, 3, 2, 3)), RNG.standard_normal(3)
    fused = ops.conv2d(Tensor(x), Tensor(w), Tensor(b), pads=1, relu=True).data
    np.testing.assert_allclose(fused, np.maximum(conv2d_naive(x, w, b, (1, 1), ((1, 1), (1, 1)), (1, 1)), 0), atol=1e-10)


POOL_CASES = [
    ((2, 2), (2, 2), ((0, 0), (0, 0)), (2, 6, 8, 3)),
    ((2, 2), (2, 2), ((0, 1), (0, 1)), (1, 5, 7, 2)),
    ((3, 3), (2, 2), ((1, 1), (1, 1)), (2, 7, 5, 2)),
    ((3, 2), (1, 2), ((1, 1), (0, 1)), (1, 5, 5, 1)),
    ((3, 3), (3, 3), ((0, 0), (0, 0)), (1, 8, 7, 2)),
]


@pytest.mark.parametrize("pool, strides, pads, shape", POOL_CASES)
def test_pooling_forward_matches_naive_loops(pool, strides, pads, shape):
    x = RNG.standard_normal(shape) - 5  # all negative: a zero-padded max would be wrong
    np.testing.assert_allclose(ops.maxpool2d(Tensor(x), pool, strides, pads).data,
                               pool_naive(x, pool, strides, pads, "max"))
    np.testing.assert_allclose(ops.avgpool2d(Tensor(x), pool, strides, pads).data,
                               pool_naive(x, pool, strides, pads, "avg"), atol=1e-12)


def test_avgpool_same_padding_excludes_padded_cells_from_the_count():
    x = Tensor(np.ones((1, 3, 3, 1)))
    assert np.allclose(ops.avgpool2d(x, 2, 2, ((0, 1), (0, 1))).data, 1.0)


def test_maxpool_tie_sends_the_gradient_to_one_cell_only():
    x = Tensor(np.zeros((1, 4, 4, 2), np.float32), requires_grad=True)  # all ties, as after relu
    ops.maxpool2d(x, 2).backward(np.ones((1, 2, 2, 2), np.float32))
    assert x.grad.sum() == 8 and set(np.unique(x.grad)) == {0.0, 1.0}


def test_global_avgpool_is_the_spatial_mean():
    x = RNG.standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(ops.global_avgpool2d(Tensor(x)).data, x.mean(axis=(1, 2)))


# ---- gemm ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("gemm", [nb.gemm_matmul, nb.gemm_einsum], ids=["matmul", "einsum"])
def test_gemm_paths_equal_matmul(gemm):
    a, b = RNG.standard_normal((7, 5)).astype(np.float32), RNG.standard_normal((5, 3)).astype(np.float32)
    out = gemm(a, b)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, a @ b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gemm(b.T, a.T), (a @ b).T, rtol=1e-5, atol=1e-6)  # transposed views
    np.testing.assert_allclose(gemm(b, a[:3]), b @ a[:3], rtol=1e-5, atol=1e-6)  # N >= K
    np.testing.assert_allclose(gemm(a[:, 1:4], b[:3]), a[:, 1:4] @ b[:3], rtol=1e-5, atol=1e-6)  # sliced view
    a3 = RNG.standard_normal((2, 4, 5))
    np.testing.assert_allclose(gemm(a3, b), a3 @ b, rtol=1e-6)


@pytest.mark.parametrize("limit", [60, 7], ids=["row-blocks", "row-and-column-blocks"])
def test_einsum_gemm_splits_products_too_large_for_one_wasm32_iterator(monkeypatch, limit):
    # Pyodide's einsum refuses M*K*N >= 2**31 terms ("iterator is too large"); the limit is lowered
    # here so the blocking is exercised on small arrays: 60 -> row blocks, 7 (< K*N) -> column blocks too.
    monkeypatch.setattr(nb, "EINSUM_MAX_ITER", limit)
    a, b = RNG.standard_normal((7, 5)).astype(np.float32), RNG.standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(nb.gemm_einsum(a, b), a @ b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nb.gemm_einsum(b.T, a.T), (a @ b).T, rtol=1e-5, atol=1e-6)  # transposed views


# ---- activations, softmax, maxout -----------------------------------------------------------------
def test_activation_values():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    t = Tensor(x)
    np.testing.assert_allclose(ops.relu(t).data, [0, 0, 0, 0.5, 3])
    np.testing.assert_allclose(ops.leaky_relu(t, 0.1).data, [-0.2, -0.05, 0, 0.5, 3])
    np.testing.assert_allclose(ops.elu(t, 2.0).data, np.where(x > 0, x, 2 * (np.exp(x) - 1)))
    np.testing.assert_allclose(ops.sigmoid(t).data, 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(ops.tanh(t).data, np.tanh(x))
    gelu = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(ops.gelu(t).data, gelu)


def test_sigmoid_and_softmax_are_stable_for_huge_inputs():
    x = np.array([[-1000.0, 0.0, 1000.0]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings
        s = ops.sigmoid(Tensor(x)).data
        p = ops.softmax(Tensor(x)).data
        lp = ops.log_softmax(Tensor(x)).data
    np.testing.assert_allclose(s, [[0, 0.5, 1]])
    np.testing.assert_allclose(p, [[0, 0, 1]])
    np.testing.assert_allclose(lp, [[-2000, -1000, 0]])


def test_maxout_takes_the_max_of_consecutive_groups():
    x = Tensor(np.array([[1.0, 5.0, 2.0, 3.0, 9.0, 0.0]]))
    np.testing.assert_allclose(ops.maxout(x, 2).data, [[5, 3, 9]])
    np.testing.assert_allclose(ops.maxout(x, 3).data, [[5, 9]])


# ---- dropout --------------------------------------------------------------------------------------
def test_dropout_training_zeroes_about_rate_and_scales_survivors():
    x = Tensor(np.ones((200, 50), np.float32))
    y = ops.dropout(x, 0.3, True, np.random.default_rng(1)).data
    assert y.dtype == np.float32
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.7)}
    assert abs((y == 0).mean() - 0.3) < 0.02
    assert abs(y.mean() - 1.0) < 0.03  # inverted dropout keeps the expectation


def test_dropout_eval_and_zero_rate_are_identity():
    x = Tensor(RNG.standard_normal((3, 4)))
    assert ops.dropout(x, 0.5, False, np.random.default_rng(0)) is x
    assert ops.dropout(x, 0.0, True, np.random.default_rng(0)) is x


# ---- normalisation --------------------------------------------------------------------------------
def test_batchnorm_training_normalises_and_updates_running_stats():
    x = RNG.standard_normal((6, 2, 2, 3)).astype(np.float32) * 3 + 2
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    gamma, beta = np.array([1.0, 2.0, 0.5], np.float32), np.array([0.0, 1.0, -1.0], np.float32)
    y = ops.batchnorm(Tensor(x), Tensor(gamma), Tensor(beta), rm, rv, momentum=0.9, eps=1e-3, training=True).data
    m, v = x.reshape(-1, 3).mean(0), x.reshape(-1, 3).var(0)  # biased variance
    np.testing.assert_allclose(y, (x - m) / np.sqrt(v + 1e-3) * gamma + beta, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(rm, 0.1 * m, rtol=1e-5)
    np.testing.assert_allclose(rv, 0.9 + 0.1 * v, rtol=1e-5)
    assert y.dtype == rm.dtype == np.float32


def test_batchnorm_eval_uses_running_stats_and_leaves_them_alone():
    x = RNG.standard_normal((4, 3))
    rm, rv = np.array([1.0, -1.0, 0.0]), np.array([4.0, 1.0, 0.25])
    y = ops.batchnorm(Tensor(x), Tensor(np.ones(3)), Tensor(np.zeros(3)), rm, rv, eps=0.0, training=False).data
    np.testing.assert_allclose(y, (x - [1, -1, 0]) / [2, 1, 0.5])
    np.testing.assert_allclose(rm, [1, -1, 0])


def test_layernorm_normalises_each_row():
    x = RNG.standard_normal((3, 5)) * 4 + 1
    y = ops.layernorm(Tensor(x), Tensor(np.ones(5)), Tensor(np.zeros(5)), eps=1e-8).data
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 1, atol=1e-6)


# ---- recurrent reference loops ---------------------------------------------------------------------
def _sig(z):
    return 1 / (1 + np.exp(-z))


def test_lstm_and_gru_match_step_by_step_references():
    n, t, f, u = 2, 4, 3, 2
    x = RNG.standard_normal((n, t, f))
    wi, wh, b = RNG.standard_normal((f, 4 * u)), RNG.standard_normal((u, 4 * u)), RNG.standard_normal(4 * u)
    h, c, hs = np.zeros((n, u)), np.zeros((n, u)), []
    for k in range(t):
        z = x[:, k] @ wi + h @ wh + b
        i, fg, g, o = _sig(z[:, :u]), _sig(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), _sig(z[:, 3 * u:])
        c = fg * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    np.testing.assert_allclose(ops.lstm(Tensor(x), wi, wh, b, return_sequences=True).data, np.stack(hs, 1))
    np.testing.assert_allclose(ops.lstm(Tensor(x), wi, wh, b).data, hs[-1])

    wi, wh = RNG.standard_normal((f, 3 * u)), RNG.standard_normal((u, 3 * u))
    bi, bh = RNG.standard_normal(3 * u), RNG.standard_normal(3 * u)
    h, hs = np.zeros((n, u)), []
    for k in range(t):
        xw, hw = x[:, k] @ wi + bi, h @ wh + bh
        r, z = _sig(xw[:, :u] + hw[:, :u]), _sig(xw[:, u:2 * u] + hw[:, u:2 * u])
        nn = np.tanh(xw[:, 2 * u:] + r * hw[:, 2 * u:])
        h = (1 - z) * nn + z * h
        hs.append(h)
    np.testing.assert_allclose(ops.gru(Tensor(x), wi, wh, bi, bh, return_sequences=True).data, np.stack(hs, 1))


def test_rnn_matches_step_by_step_reference():
    x = RNG.standard_normal((2, 3, 4))
    wi, wh, b = RNG.standard_normal((4, 3)), RNG.standard_normal((3, 3)), RNG.standard_normal(3)
    h = np.zeros((2, 3))
    for k in range(3):
        h = np.maximum(x[:, k] @ wi + h @ wh + b, 0)
    np.testing.assert_allclose(ops.rnn(Tensor(x), wi, wh, b, activation="relu").data, h)


# ---- float32 stays float32 --------------------------------------------------------------------------
def _f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("build", [
    lambda p: ops.dense(ops.flatten(ops.maxpool2d(ops.conv2d(p[0], p[1], p[2], pads=2, relu=True), 3)), p[3]),
    lambda p: ops.avgpool2d(ops.gelu(ops.conv2d(p[0], p[1], None, strides=2, pads=1, dilation=1)), 2, 1, 1),
    lambda p: ops.batchnorm(ops.elu(p[0]), p[5], p[5], np.zeros(1, np.float32), np.ones(1, np.float32), training=True),
    lambda p: ops.lstm(ops.reshape(p[0], (2, 6, 6)), p[6], p[7], p[8], return_sequences=True),
    lambda p: ops.gru(ops.reshape(p[0], (2, 6, 6)), p[9], p[10], p[11], p[11], return_sequences=False),
    lambda p: ops.layernorm(ops.softmax(ops.leaky_relu(p[0]) * 2.0 + 1.0 - p[0] / 3.0), p[5], p[5]),
], ids=["convnet", "strided_conv_avgpool", "batchnorm", "lstm", "gru", "elementwise_layernorm"])
def test_float32_stays_float32_forward_and_backward(build):
    p = [Tensor(_f32(2, 6, 6, 1), requires_grad=True), Parameter(_f32(5, 5, 1, 4)), Parameter(_f32(4)),
         Parameter(_f32(16, 3)), None, Parameter(_f32(1)), Parameter(_f32(6, 8)), Parameter(_f32(2, 8)),
         Parameter(_f32(8)), Parameter(_f32(6, 9)), Parameter(_f32(3, 9)), Parameter(_f32(9))]
    out = build(p)
    assert out.dtype == np.float32
    losses.mse(out, np.zeros(out.shape)).backward()  # float64 target must not upcast either
    for t in p:
        if t is not None and t.grad is not None:
            assert t.grad.dtype == np.float32
    assert p[0].grad is not None


def test_losses_keep_float32_and_labels_may_be_floats():
    out = Tensor(_f32(4, 3), requires_grad=True)
    for cfg, target in [("softmax_cross_entropy", np.array([0.0, 1.0, 2.0, 1.0])), ("hinge", np.array([0, 1, 2, 1])),
                        ("binary_cross_entropy", np.ones((4, 3))), ("huber", np.ones((4, 3)))]:
        out.grad = None
        loss = losses.get_loss(cfg)(out, target)
        loss.backward()
        assert loss.dtype == np.float32 and out.grad.dtype == np.float32


# ---- loss values and accuracy ------------------------------------------------------------------------
def test_loss_values_match_formulas():
    z = np.array([[2.0, 1.0, -1.0], [0.0, 3.0, 0.5]])
    y = np.array([0, 2])
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    sce = -(logp[0, 0] + logp[1, 2]) / 2
    assert np.isclose(losses.get_loss("softmax_cross_entropy")(Tensor(z), y).item(), sce)
    assert np.isclose(losses.get_loss("softmax_cross_entropy")(Tensor(z), np.eye(3)[y]).item(), sce)
    # hinge: row 0: max(0, 1-2+1)=0, max(0,-1-2+1)=0; row 1: max(0,0-.5+1)=.5, max(0,3-.5+1)=3.5
    assert np.isclose(losses.get_loss("hinge")(Tensor(z), y).item(), (0 + 4.0) / 2)
    t = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    p = 1 / (1 + np.exp(-z))
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean()
    assert np.isclose(losses.get_loss("binary_cross_entropy")(Tensor(z), t).item(), bce)
    cfg = {"type": "binary_cross_entropy", "from_logits": False}
    assert np.isclose(losses.get_loss(cfg)(Tensor(p), t).item(), bce)
    assert np.isclose(losses.get_loss("mse")(Tensor(z), t).item(), ((z - t) ** 2).mean())
    e = np.abs(z - t)
    huber = np.where(e <= 1.5, 0.5 * e ** 2, 1.5 * (e - 0.75)).mean()
    assert np.isclose(losses.get_loss({"type": "huber", "delta": 1.5})(Tensor(z), t).item(), huber)


def test_bce_from_logits_is_finite_for_extreme_logits():
    loss = losses.get_loss("binary_cross_entropy")(Tensor(np.array([[-500.0, 500.0]], np.float32)), np.array([[1.0, 0.0]]))
    assert np.isclose(loss.item(), 500.0)


def test_get_loss_rejects_unknown_names_and_fields():
    with pytest.raises(ValueError, match="unknown loss"):
        losses.get_loss("nll")
    with pytest.raises(ValueError, match="no field"):
        losses.get_loss({"type": "mse", "delta": 1.0})
    assert losses.LOSSES["huber"] == {"delta": 1.0} and losses.LOSSES["binary_cross_entropy"]["from_logits"] is True


def test_accuracy_for_classification_and_none_for_regression():
    z = np.array([[2.0, 1.0, -1.0], [0.0, 3.0, 0.5], [0.0, 0.0, 1.0], [5.0, 0.0, 0.0]])
    assert losses.accuracy(z, np.array([0, 1, 0, 0]), "softmax_cross_entropy") == 0.75
    assert losses.accuracy(Tensor(z), np.eye(3)[[0, 0, 2, 0]], "hinge") == 0.75
    logits = np.array([[-1.0], [2.0], [0.5], [-3.0]])
    assert losses.accuracy(logits, np.array([[0], [1], [0], [1]]), "binary_cross_entropy") == 0.5
    probs = np.array([[0.2], [0.9], [0.6], [0.4]])
    assert losses.accuracy(probs, np.array([[0], [1], [1], [1]]),
                           {"type": "binary_cross_entropy", "from_logits": False}) == 0.75
    assert losses.accuracy(z, z, "mse") is None and losses.accuracy(z, z, "huber") is None


# ---- autograd mechanics --------------------------------------------------------------------------
def test_backward_accumulates_into_leaves_and_handles_shared_nodes():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = a * 3.0
    (b * b + b).sum().backward()  # d/da = (2b + 1) * 3
    np.testing.assert_allclose(a.grad, [21.0, 39.0])
    (a * 1.0).sum().backward()
    np.testing.assert_allclose(a.grad, [22.0, 40.0])


def test_no_grad_records_no_graph():
    w = Parameter(np.ones(3))
    with no_grad():
        y = (w * 2.0).sum()
    assert y._ctx is None and not y.requires_grad
    assert (w * 2.0).sum().requires_grad


def test_frozen_parameter_gets_no_gradient():
    w, v = Parameter(np.ones(2)), Parameter(np.ones(2))
    v.trainable = False
    (w * v).sum().backward()
    assert v.grad is None and not v.requires_grad and np.allclose(w.grad, 1)


def test_deep_chain_backward_does_not_hit_the_recursion_limit():
    x = Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(3000):
        y = y + 1.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 1)


# ---- layers: init and activation field --------------------------------------------------------------
def test_layer_init_follows_he_glorot_and_special_biases():
    rng = np.random.default_rng(0)
    d = layers.LAYERS["dense"].init({"activation": "relu"}, {"weight": (400, 300), "bias": (300,)}, rng)
    assert d["weight"].dtype == np.float32 and np.allclose(d["bias"], 0)
    assert 0.95 * np.sqrt(6 / 400) < np.abs(d["weight"]).max() <= np.sqrt(6 / 400)  # He-uniform
    c = layers.LAYERS["conv2d"].init({"activation": None}, {"weight": (3, 3, 4, 8), "bias": (8,)}, rng)
    assert np.abs(c["weight"]).max() <= np.sqrt(6 / (36 + 72))  # Glorot-uniform with receptive field
    lstm = layers.LAYERS["lstm"].init({}, {"weight_ih": (3, 8), "weight_hh": (2, 8), "bias": (8,)}, rng)
    np.testing.assert_array_equal(lstm["bias"], [0, 0, 1, 1, 0, 0, 0, 0])  # forget gate = 1
    bn = layers.LAYERS["batchnorm"].init({}, {"gamma": (3,), "beta": (3,), "running_mean": (3,),
                                              "running_var": (3,)}, rng)
    assert (bn["gamma"] == 1).all() and (bn["beta"] == 0).all() and (bn["running_mean"] == 0).all() \
        and (bn["running_var"] == 1).all()
    e = layers.LAYERS["embedding"].init({}, {"weight": (500, 40)}, rng)["weight"]
    assert abs(e.std() - 0.05) < 0.002 and abs(e.mean()) < 0.002


def test_every_contract_layer_type_is_registered():
    expected = {"dense", "conv2d", "maxpool2d", "avgpool2d", "globalavgpool2d", "flatten", "reshape", "dropout",
                "batchnorm", "layernorm", "embedding", "rnn", "lstm", "gru", "add", "concat", "relu", "sigmoid",
                "tanh", "gelu", "leaky_relu", "elu", "softmax", "maxout"}
    assert expected <= set(layers.LAYERS)


@pytest.mark.parametrize("name", ["linear", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softmax"])
def test_dense_activation_field_applies_the_named_function(name):
    x, w, b = _f32(3, 4), _f32(4, 5), _f32(5)
    cfg = {"type": "dense", "units": 5, "activation": name, "use_bias": True}
    y = layers.LAYERS["dense"].forward(cfg, {"weight": Parameter(w), "bias": Parameter(b)}, [Tensor(x)],
                                       types.SimpleNamespace(training=False, rng=None)).data
    z = x @ w + b
    ref = {"linear": z, "relu": np.maximum(z, 0), "leaky_relu": np.where(z > 0, z, 0.01 * z),
           "elu": np.where(z > 0, z, np.expm1(z)), "sigmoid": 1 / (1 + np.exp(-z)), "tanh": np.tanh(z),
           "gelu": 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z ** 3))),
           "softmax": np.exp(z) / np.exp(z).sum(-1, keepdims=True)}[name]
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    assert y.dtype == np.float32


def test_batchnorm_layer_updates_the_running_parameters_only_in_training():
    params = {k: Parameter(v) for k, v in layers.LAYERS["batchnorm"].init(
        {}, {"gamma": (2,), "beta": (2,), "running_mean": (2,), "running_var": (2,)}, RNG).items()}
    cfg = {"type": "batchnorm", "momentum": 0.5, "epsilon": 1e-3}
    x = Tensor(np.array([[1.0, 2.0], [3.0, 6.0]], np.float32))
    layers.LAYERS["batchnorm"].forward(cfg, params, [x], types.SimpleNamespace(training=False, rng=None))
    np.testing.assert_allclose(params["running_mean"].data, [0, 0])
    layers.LAYERS["batchnorm"].forward(cfg, params, [x], types.SimpleNamespace(training=True, rng=None))
    np.testing.assert_allclose(params["running_mean"].data, [1.0, 2.0])
    np.testing.assert_allclose(params["running_var"].data, [0.5 + 0.5, 0.5 + 2.0])
