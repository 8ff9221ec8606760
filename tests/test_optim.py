"""Optimizers against hand-computed textbook updates, plus L1/L2, clipping, schedules and checkpoints."""
import math
from dataclasses import dataclass

import numpy as np
import pytest

from pyengine.optim import (
    COMMON_DEFAULTS,
    OPTIMIZERS,
    SCHEDULES,
    make_optimizer,
)


@dataclass
class P:
    """The interface optim.step needs from a parameter (tensor.Parameter provides the same attributes)."""

    name: str
    data: np.ndarray
    grad: np.ndarray = None
    trainable: bool = True
    decay: bool = True


def param(name, values, grad=None, dtype=np.float64, **kw):
    g = None if grad is None else np.array(grad, dtype=dtype)
    return P(name, np.array(values, dtype=dtype), g, **kw)


ALL_TYPES = list(OPTIMIZERS)

# --- tables and config --------------------------------------------------------------------------


def test_default_tables_match_the_contract():
    assert OPTIMIZERS == {
        "sgd": {"lr": 0.01},
        "momentum": {"lr": 0.01, "momentum": 0.9},
        "nesterov": {"lr": 0.01, "momentum": 0.9},
        "adagrad": {"lr": 0.01, "eps": 1e-8},
        "rmsprop": {"lr": 0.001, "rho": 0.9, "eps": 1e-8},
        "adadelta": {"lr": 1.0, "rho": 0.95, "eps": 1e-6},
        "adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
        "adamw": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01},
    }
    assert COMMON_DEFAULTS == {"l1": 0, "l2": 0, "clipnorm": None, "clipvalue": None, "schedule": None}
    assert SCHEDULES == {"step": {"step_size": None, "gamma": 0.1}, "cosine": {"total_steps": None, "min_lr": 0.0}}


def test_missing_fields_take_defaults():
    opt = make_optimizer({"type": "adam", "lr": 0.5, "schedule": {"type": "step", "step_size": 3}})
    assert opt.config == {
        "type": "adam", "lr": 0.5, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
        "l1": 0.0, "l2": 0.0, "clipnorm": None, "clipvalue": None,
        "schedule": {"type": "step", "step_size": 3, "gamma": 0.1},
    }


@pytest.mark.parametrize(
    "cfg, fragment",
    [
        ({"type": "adamax"}, "unknown type 'adamax'"),
        ({}, "unknown type None"),
        ({"type": "sgd", "momentum": 0.9}, "unknown field 'momentum'"),
        ({"type": "adam", "betas": 0.9}, "unknown field 'betas'"),
        ({"type": "sgd", "schedule": {"type": "exp"}}, "unknown schedule type 'exp'"),
        ({"type": "sgd", "schedule": {"type": "step"}}, "missing required field 'step_size'"),
        ({"type": "sgd", "schedule": {"type": "cosine", "total_steps": 5, "warmup": 1}}, "unknown field 'warmup'"),
        ({"type": "sgd", "schedule": {"type": "step", "step_size": 0}}, "step_size must be a positive integer"),
        ({"type": "sgd", "lr": -1}, "lr must be in"),
        ({"type": "sgd", "lr": True}, "lr must be a finite number"),
        ({"type": "momentum", "momentum": 1.0}, "momentum must be in"),
        ({"type": "sgd", "clipnorm": 0}, "clipnorm must be in"),
    ],
)
def test_bad_configs_raise_value_error_naming_the_problem(cfg, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(")):
        make_optimizer(cfg)


# --- textbook updates ---------------------------------------------------------------------------
# Start w = [1, -2]; gradients per step below. Expected weights after each of 3 steps, computed by
# hand (sgd, momentum, nesterov) or with a scalar float reference of the formula in the docstring.
GRADS = [[0.5, -1.0], [0.25, 0.5], [-1.0, 2.0]]
TEXTBOOK = {
    # w -= lr g, lr 0.1: [1-.05, -2+.1], then [.95-.025, -1.9-.05], then [.925+.1, -1.95-.2]
    "sgd": ({"lr": 0.1}, [[0.95, -1.9], [0.925, -1.95], [1.025, -2.15]]),
    # v = .9 v - .1 g: v1 = [-.05, .1], v2 = [-.07, .04], v3 = [.037, -.164]; w += v
    "momentum": ({"lr": 0.1, "momentum": 0.9}, [[0.95, -1.9], [0.88, -1.86], [0.917, -2.024]]),
    # w += -mu v + (1 + mu) v_new with the velocities above: w1 = w0 + 1.9 v1 = [.905, -1.81]
    "nesterov": ({"lr": 0.1, "momentum": 0.9}, [[0.905, -1.81], [0.817, -1.824], [0.9503, -2.1716]]),
    # G += g^2; w -= lr g / (sqrt(G) + eps): step 1 = lr * g/|g| (up to eps)
    "adagrad": (
        {"lr": 0.1, "eps": 1e-8},
        [[0.900000002, -1.900000001], [0.8552786432500041, -1.9447213601499957],
         [0.9425657985824963, -2.0320085158634402]],
    ),
    # E = rho E + (1-rho) g^2; w -= lr g / (sqrt(E) + eps): step 1 = lr / sqrt(.1) * sign(g)
    "rmsprop": (
        {"lr": 0.01, "rho": 0.9, "eps": 1e-8},
        [[0.968377225398316, -1.9683772243983162], [0.9536330306523915, -1.9831214195790232],
         [0.9818188228662652, -2.0113072121901165]],
    ),
    # Zeiler: Eg = rho Eg + (1-rho) g^2; dx = -sqrt(Edx+eps)/sqrt(Eg+eps) g; Edx = rho Edx + (1-rho) dx^2
    "adadelta": (
        {"lr": 1.0, "rho": 0.95, "eps": 1e-6},
        [[0.9955280429197062, -1.9955279087656892], [0.9926414455230534, -1.9984146216222929],
         [0.9987104513003427, -2.00448377863853]],
    ),
    # m, v moments; m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t); w -= lr m_hat / (sqrt(v_hat) + eps)
    "adam": (
        {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
        [[0.900000002, -1.900000001], [0.8067820404774624, -1.873366297370903],
         [0.8274177428854115, -1.9190994760260234]],
    ),
    # w -= lr * wd * w (= 5% shrink per step here), then the adam step
    "adamw": (
        {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.5},
        [[0.8500000019999999, -1.800000001], [0.7142820403774623, -1.683366297320903],
         [0.6992036407665383, -1.644931161109978]],
    ),
}


@pytest.mark.parametrize("kind", ALL_TYPES)
def test_update_matches_textbook_over_three_steps(kind):
    hyper, expected = TEXTBOOK[kind]
    opt = make_optimizer({"type": kind, **hyper})
    p = param("dense.weight", [1.0, -2.0])
    for g, want in zip(GRADS, expected):
        p.grad = np.array(g)
        opt.step([p])
        np.testing.assert_allclose(p.data, want, rtol=1e-12, atol=1e-14)
    assert opt.steps == 3


def test_adam_first_step_is_lr_times_sign_of_grad():
    # At t = 1 bias correction gives m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps).
    opt = make_optimizer({"type": "adam", "lr": 0.01})
    g = np.array([1e-3, -50.0, 3.0, 0.0])
    p = param("w", [0.0, 0.0, 0.0, 0.0], g)
    opt.step([p])
    np.testing.assert_allclose(p.data, [-0.01, 0.01, -0.01, 0.0], rtol=1e-5, atol=0)
    np.testing.assert_allclose(p.data, -0.01 * g / (np.abs(g) + 1e-8), rtol=1e-14, atol=0)


def test_adam_bias_correction_counts_updates_per_param():
    # A param first trained at the optimizer's 3rd step still gets t = 1 correction (lr * sign step).
    opt = make_optimizer({"type": "adam", "lr": 0.1})
    a, b = param("a", [0.0], [1.0]), param("b", [0.0], [1.0], trainable=False)
    opt.step([a, b])
    opt.step([a, b])
    b.trainable = True
    opt.step([a, b])
    np.testing.assert_allclose(b.data, [-0.1], rtol=1e-7)
    assert int(opt.state["b"]["t"]) == 1 and int(opt.state["a"]["t"]) == 3


# --- regularisation and clipping ----------------------------------------------------------------


def test_l1_and_l2_apply_to_decay_params_only():
    opt = make_optimizer({"type": "sgd", "lr": 0.1, "l1": 0.2, "l2": 0.5})
    w = param("dense.weight", [2.0, -1.0, 0.0], [0.0, 0.0, 0.0])
    b = param("dense.bias", [2.0, -1.0, 0.0], [0.0, 0.0, 0.0], decay=False)
    opt.step([w, b])
    # g = 0.5 w + 0.2 sign(w) = [1.2, -0.7, 0] -> w - 0.1 g
    np.testing.assert_allclose(w.data, [1.88, -0.93, 0.0], rtol=1e-14)
    np.testing.assert_array_equal(b.data, [2.0, -1.0, 0.0])


def test_adamw_decoupled_decay_on_decay_params_only():
    opt = make_optimizer({"type": "adamw", "lr": 0.1, "weight_decay": 0.5})
    w = param("dense.weight", [2.0, -1.0], [0.0, 0.0])
    b = param("dense.bias", [2.0, -1.0], [0.0, 0.0], decay=False)
    opt.step([w, b])
    # zero gradient -> adam moves nothing; decay shrinks by lr * wd = 5%
    np.testing.assert_allclose(w.data, [1.9, -0.95], rtol=1e-14)
    np.testing.assert_array_equal(b.data, [2.0, -1.0])


def test_clipvalue_clips_each_element():
    opt = make_optimizer({"type": "sgd", "lr": 1.0, "clipvalue": 0.5})
    p = param("w", [0.0, 0.0, 0.0], [2.0, -0.3, -7.0])
    opt.step([p])
    np.testing.assert_allclose(p.data, [-0.5, 0.3, 0.5], rtol=1e-14)


def test_clipnorm_rescales_by_the_global_norm_of_all_grads():
    opt = make_optimizer({"type": "sgd", "lr": 1.0, "clipnorm": 1.0})
    a, b = param("a", [0.0, 0.0], [3.0, 0.0]), param("b", [0.0], [4.0])  # global norm 5
    opt.step([a, b])
    np.testing.assert_allclose(a.data, [-0.6, 0.0], rtol=1e-14)
    np.testing.assert_allclose(b.data, [-0.8], rtol=1e-14)


def test_clipnorm_leaves_small_gradients_alone():
    opt = make_optimizer({"type": "sgd", "lr": 1.0, "clipnorm": 10.0})
    p = param("w", [0.0, 0.0], [3.0, 4.0])
    opt.step([p])
    np.testing.assert_array_equal(p.data, [-3.0, -4.0])


def test_order_is_decay_then_clipvalue_then_clipnorm():
    # g = 0 + l2 * w = [3, 4] -> clipvalue 3 -> [3, 3] -> clipnorm 1 -> [1, 1] / sqrt(2)
    opt = make_optimizer({"type": "sgd", "lr": 1.0, "l2": 1.0, "clipvalue": 3.0, "clipnorm": 1.0})
    p = param("w", [3.0, 4.0], [0.0, 0.0])
    opt.step([p])
    s = 1 / math.sqrt(2)
    np.testing.assert_allclose(p.data, [3.0 - s, 4.0 - s], rtol=1e-14)


def test_caller_gradient_is_not_modified():
    opt = make_optimizer({"type": "adam", "l2": 1.0, "clipvalue": 0.1, "clipnorm": 0.05})
    p = param("w", [3.0, -4.0], [1.0, 2.0])
    opt.step([p])
    np.testing.assert_array_equal(p.grad, [1.0, 2.0])


# --- schedules ----------------------------------------------------------------------------------


def test_step_schedule_multiplies_by_gamma_every_step_size():
    opt = make_optimizer({"type": "sgd", "lr": 0.1, "schedule": {"type": "step", "step_size": 10, "gamma": 0.5}})
    assert [opt.lr_at(s) for s in (0, 9, 10, 19, 20, 35)] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.0125])


def test_cosine_schedule_anneals_to_min_lr_then_stays():
    opt = make_optimizer({"type": "sgd", "lr": 1.0, "schedule": {"type": "cosine", "total_steps": 100, "min_lr": 0.1}})
    # min_lr + (lr - min_lr) * (1 + cos(pi * s / T)) / 2
    assert opt.lr_at(0) == pytest.approx(1.0)
    assert opt.lr_at(25) == pytest.approx(0.1 + 0.45 * (1 + math.sqrt(0.5)))  # 0.868198...
    assert opt.lr_at(50) == pytest.approx(0.55)
    assert opt.lr_at(100) == pytest.approx(0.1)
    assert opt.lr_at(250) == pytest.approx(0.1)


def test_no_schedule_keeps_lr_constant():
    opt = make_optimizer({"type": "sgd", "lr": 0.3})
    assert opt.lr_at(0) == opt.lr_at(10_000) == 0.3


def test_schedule_sets_the_lr_of_each_update():
    opt = make_optimizer({"type": "sgd", "lr": 0.1, "schedule": {"type": "step", "step_size": 1, "gamma": 0.5}})
    p = param("w", [0.0])
    seen = []
    for _ in range(3):
        p.grad = np.array([1.0])
        opt.step([p])
        seen.append(p.data[0])
    assert seen == pytest.approx([-0.1, -0.15, -0.175])


# --- skipping and state -------------------------------------------------------------------------


def test_params_without_grad_or_frozen_are_untouched_and_get_no_state():
    opt = make_optimizer({"type": "momentum", "lr": 0.1, "l2": 1.0})
    live = param("live", [1.0], [1.0])
    nograd = param("nograd", [1.0])
    frozen = param("frozen", [1.0], [1.0], trainable=False)
    opt.step([live, nograd, frozen])
    np.testing.assert_allclose(live.data, [0.8])  # g = 1 + l2 * 1
    assert nograd.data[0] == 1.0 and frozen.data[0] == 1.0
    assert set(opt.state) == {"live"}


def test_frozen_param_keeps_its_velocity_until_unfrozen():
    opt = make_optimizer({"type": "momentum", "lr": 0.1, "momentum": 0.5})
    p = param("w", [0.0], [1.0])
    opt.step([p])  # v = -0.1, w = -0.1
    p.trainable = False
    opt.step([p])  # skipped: nothing decays while frozen
    p.trainable = True
    opt.step([p])  # v = 0.5 * -0.1 - 0.1 = -0.15, w = -0.25
    np.testing.assert_allclose(opt.state["w"]["velocity"], [-0.15])
    np.testing.assert_allclose(p.data, [-0.25])


def test_grad_shape_mismatch_names_the_param():
    opt = make_optimizer({"type": "sgd"})
    with pytest.raises(ValueError, match="dense.weight"):
        opt.step([param("dense.weight", [1.0, 2.0], [1.0])])


def _run(opt, params, grads_per_step):
    for grads in grads_per_step:
        for p, g in zip(params, grads):
            p.grad = np.array(g, dtype=p.data.dtype)
        opt.step(params)


@pytest.mark.parametrize("kind", ALL_TYPES)
def test_state_dict_round_trip_continues_identically(kind):
    cfg = {"type": kind, "lr": 0.05, "l2": 0.01, "schedule": {"type": "cosine", "total_steps": 6}}
    rng = np.random.default_rng(3)
    grads = rng.normal(size=(4, 2, 3)).tolist()
    make = lambda: [param("a", [1.0, -2.0, 0.5]), param("b", [0.1, 0.2, 0.3], decay=False)]

    ref_params, ref = make(), make_optimizer(cfg)
    _run(ref, ref_params, grads)

    params, first = make(), make_optimizer(cfg)
    _run(first, params, grads[:2])
    saved = first.state_dict()
    weights = [p.data.copy() for p in params]
    assert saved["steps"] == 2 and all(isinstance(v, np.ndarray) for k, v in saved.items() if k != "steps")
    _run(first, params, grads[2:3])  # advancing the original must not change the snapshot

    second = make_optimizer(cfg)
    second.load_state_dict(saved)
    resumed = [P(p.name, w, decay=p.decay) for p, w in zip(params, weights)]
    _run(second, resumed, grads[2:])
    for p, r in zip(resumed, ref_params):
        np.testing.assert_array_equal(p.data, r.data)
    assert second.steps == 4


def test_state_dict_is_flat_names_slash_slot():
    opt = make_optimizer({"type": "adam"})
    opt.step([param("conv.weight", [1.0], [1.0])])
    sd = opt.state_dict()
    assert sorted(sd) == ["conv.weight/m", "conv.weight/t", "conv.weight/v", "steps"]
    assert int(sd["conv.weight/t"]) == 1


def test_load_state_dict_rejects_other_optimizers_state():
    adam = make_optimizer({"type": "adam"})
    adam.step([param("w", [1.0], [1.0])])
    with pytest.raises(ValueError, match="unexpected entry 'w/m' for momentum"):
        make_optimizer({"type": "momentum"}).load_state_dict(adam.state_dict())


# --- behaviour on a problem ---------------------------------------------------------------------

QUADRATIC_SETTINGS = {  # (config, steps) tuned so each reaches the optimum region quickly
    "sgd": ({"lr": 0.1}, 200),
    "momentum": ({"lr": 0.05}, 200),
    "nesterov": ({"lr": 0.05}, 200),
    "adagrad": ({"lr": 0.5}, 300),
    "rmsprop": ({"lr": 0.01}, 600),
    "adadelta": ({"lr": 1.0}, 3000),
    "adam": ({"lr": 0.05}, 400),
    "adamw": ({"lr": 0.05, "weight_decay": 0.0}, 400),
}


@pytest.mark.parametrize("kind", ALL_TYPES)
def test_minimises_an_ill_conditioned_quadratic(kind):
    # f(w) = 0.5 * sum(a * (w - c)^2), gradient a * (w - c); optimum c.
    a, c = np.array([1.0, 4.0, 0.5]), np.array([1.0, -2.0, 3.0])
    hyper, steps = QUADRATIC_SETTINGS[kind]
    opt = make_optimizer({"type": kind, **hyper})
    p = param("w", [0.0, 0.0, 0.0])
    f0 = 0.5 * np.sum(a * c**2)
    for _ in range(steps):
        p.grad = a * (p.data - c)
        opt.step([p])
    f = 0.5 * np.sum(a * (p.data - c) ** 2)
    assert f < 1e-3 * f0, (kind, f, p.data)


@pytest.mark.parametrize("kind", ALL_TYPES)
def test_float32_params_and_state_stay_float32(kind):
    opt64, opt32 = make_optimizer({"type": kind, "l2": 0.1}), make_optimizer({"type": kind, "l2": 0.1})
    p64, p32 = param("w", [1.0, -2.0]), param("w", [1.0, -2.0], dtype=np.float32)
    for g in GRADS:
        p64.grad = np.array(g)
        p32.grad = np.array(g, dtype=np.float64)  # a float64 grad must not promote the param
        opt64.step([p64])
        opt32.step([p32])
    assert p32.data.dtype == np.float32
    assert all(s.dtype == np.float32 for k, s in opt32.state["w"].items() if k != "t")
    np.testing.assert_allclose(p32.data, p64.data, rtol=1e-5)
