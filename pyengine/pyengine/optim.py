"""Optimizers: textbook update rules over Parameters, with L1/L2, clipping and lr schedules.

One `step(params)` does, for every param that is trainable and has a gradient:

    g = grad  (+ l2*w + l1*sign(w) on decay params)  -> clipvalue  -> clipnorm (global)  -> update(w, g, lr_at(steps))

State (moments, accumulators) is keyed by parameter name, so a param that is frozen for a while and
unfrozen later picks its state back up, and a checkpoint maps straight onto names.
Every update works in place on the param's own dtype (float32 stays float32) through two scratch
buffers per param, so a step allocates nothing after the first one.
"""
import math

import numpy as np

# type -> default hyperparameters (docs/engine.md). spec.py reads these tables to validate configs.
OPTIMIZERS = {
    "sgd": {"lr": 0.01},
    "momentum": {"lr": 0.01, "momentum": 0.9},
    "nesterov": {"lr": 0.01, "momentum": 0.9},
    "adagrad": {"lr": 0.01, "eps": 1e-8},
    "rmsprop": {"lr": 0.001, "rho": 0.9, "eps": 1e-8},
    "adadelta": {"lr": 1.0, "rho": 0.95, "eps": 1e-6},
    "adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    "adamw": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01},
}

# Fields every optimizer accepts.
COMMON_DEFAULTS = {"l1": 0.0, "l2": 0.0, "clipnorm": None, "clipvalue": None, "schedule": None}

# schedule type -> its fields; None marks a required field (also listed in SCHEDULE_REQUIRED).
SCHEDULES = {
    "step": {"step_size": None, "gamma": 0.1},
    "cosine": {"total_steps": None, "min_lr": 0.0},
}
SCHEDULE_REQUIRED = {"step": ("step_size",), "cosine": ("total_steps",)}

# Allowed range per hyperparameter: (low, low_inclusive, high, high_inclusive).
_RANGES = {
    "lr": (0.0, True, math.inf, False),
    "momentum": (0.0, True, 1.0, False),
    "rho": (0.0, True, 1.0, False),
    "beta1": (0.0, True, 1.0, False),
    "beta2": (0.0, True, 1.0, False),
    "eps": (0.0, False, math.inf, False),
    "weight_decay": (0.0, True, math.inf, False),
    "l1": (0.0, True, math.inf, False),
    "l2": (0.0, True, math.inf, False),
    "clipnorm": (0.0, False, math.inf, False),
    "clipvalue": (0.0, False, math.inf, False),
    "gamma": (0.0, False, math.inf, False),
    "min_lr": (0.0, True, math.inf, False),
}


def _is_number(v):
    # bool is an int subclass; True as a learning rate is a config bug, not 1.0.
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _check_number(where, key, v):
    if not _is_number(v) or not math.isfinite(v):
        raise ValueError(f"{where}: {key} must be a finite number, got {v!r}")
    lo, lo_in, hi, hi_in = _RANGES[key]
    if v < lo or (v == lo and not lo_in) or v > hi or (v == hi and not hi_in):
        lo_b, hi_b = "[" if lo_in else "(", "]" if hi_in else ")"
        raise ValueError(f"{where}: {key} must be in {lo_b}{lo}, {hi}{hi_b}, got {v!r}")
    return float(v)


def _normalize_schedule(sched):
    if sched is None:
        return None
    if not isinstance(sched, dict):
        raise ValueError(f"optimizer: schedule must be null or a dict, got {sched!r}")
    kind = sched.get("type")
    if kind not in SCHEDULES:
        raise ValueError(f"optimizer: unknown schedule type {kind!r} (known: {', '.join(SCHEDULES)})")
    where = f"optimizer.schedule ({kind})"
    for key in sched:
        if key != "type" and key not in SCHEDULES[kind]:
            raise ValueError(f"{where}: unknown field {key!r}")
    for key in SCHEDULE_REQUIRED[kind]:
        if sched.get(key) is None:
            raise ValueError(f"{where}: missing required field {key!r}")
    out = {"type": kind}
    for key, default in SCHEDULES[kind].items():
        v = sched.get(key, default)
        if key in ("step_size", "total_steps"):
            if not _is_number(v) or v != int(v) or v < 1:
                raise ValueError(f"{where}: {key} must be a positive integer, got {v!r}")
            out[key] = int(v)
        else:
            out[key] = _check_number(where, key, v)
    return out


def normalize_config(cfg):
    """Return a full copy of an optimizer config with every default filled; ValueError on bad input."""
    if not isinstance(cfg, dict):
        raise ValueError(f"optimizer: config must be a dict with a 'type', got {cfg!r}")
    kind = cfg.get("type")
    if kind not in OPTIMIZERS:
        raise ValueError(f"optimizer: unknown type {kind!r} (known: {', '.join(OPTIMIZERS)})")
    allowed = {**OPTIMIZERS[kind], **COMMON_DEFAULTS}
    for key in cfg:
        if key != "type" and key not in allowed:
            raise ValueError(f"optimizer ({kind}): unknown field {key!r}")
    out = {"type": kind}
    for key, default in allowed.items():
        v = cfg.get(key, default)
        if key == "schedule":
            out[key] = _normalize_schedule(v)
        elif v is None and default is None:  # clipnorm / clipvalue off
            out[key] = None
        else:
            out[key] = _check_number(f"optimizer ({kind})", key, v)
    return out


class Optimizer:
    """Base: preprocessing, clipping, schedules and state; subclasses implement `_update`."""

    slots = ()  # names of the per-param state arrays (same shape and dtype as the param)

    def __init__(self, cfg):
        self.config = normalize_config(cfg)
        self.lr = self.config["lr"]
        self.steps = 0  # completed step() calls; drives the schedule
        self.state = {}  # param name -> {slot: ndarray}
        self._scratch = {}  # param name -> (g, tmp) work buffers; never checkpointed

    # -- schedule ------------------------------------------------------------------------------
    def lr_at(self, step):
        """Learning rate used by the update after `step` completed steps (the first update uses lr_at(0))."""
        sched = self.config["schedule"]
        if sched is None:
            return self.lr
        if sched["type"] == "step":
            return self.lr * sched["gamma"] ** (step // sched["step_size"])
        # cosine: half a cosine from lr down to min_lr over total_steps, then flat at min_lr.
        progress = min(step, sched["total_steps"]) / sched["total_steps"]
        return sched["min_lr"] + (self.lr - sched["min_lr"]) * 0.5 * (1.0 + math.cos(math.pi * progress))

    # -- the step ------------------------------------------------------------------------------
    def step(self, params):
        cfg = self.config
        l1, l2, clipvalue, clipnorm = cfg["l1"], cfg["l2"], cfg["clipvalue"], cfg["clipnorm"]
        work = []
        for p in params:
            if not p.trainable or p.grad is None:
                continue
            w = p.data
            if p.grad.shape != w.shape:
                raise ValueError(f"optimizer: grad of {p.name} has shape {p.grad.shape}, param has {w.shape}")
            g, tmp = self._buffers(p.name, w)
            np.copyto(g, p.grad)  # work on a copy: the caller's grad stays as backward left it
            if p.decay and l2:
                np.multiply(w, l2, out=tmp)
                g += tmp
            if p.decay and l1:
                np.sign(w, out=tmp)
                tmp *= l1
                g += tmp
            if clipvalue is not None:
                np.clip(g, -clipvalue, clipvalue, out=g)
            work.append((p, g, tmp))

        if clipnorm is not None and work:
            # One norm over every gradient of this step, so clipping keeps the update's direction.
            total = math.sqrt(sum(float(np.vdot(g, g)) for _, g, _ in work))
            if total > clipnorm:
                scale = clipnorm / total
                for _, g, _ in work:
                    g *= scale

        lr = self.lr_at(self.steps)
        for p, g, tmp in work:
            self._update(p, p.data, g, tmp, self._slots(p.name, p.data), lr)
        self.steps += 1

    def _update(self, p, w, g, tmp, st, lr):
        """Apply one update to w in place. g and tmp are scratch and may be overwritten."""
        raise NotImplementedError

    # -- buffers and state ---------------------------------------------------------------------
    def _buffers(self, name, w):
        bufs = self._scratch.get(name)
        if bufs is None or bufs[0].shape != w.shape or bufs[0].dtype != w.dtype:
            bufs = self._scratch[name] = (np.empty_like(w), np.empty_like(w))
        return bufs

    def _slots(self, name, w):
        st = self.state.get(name)
        if st is None:
            st = self.state[name] = {s: self._init_slot(s, w) for s in self.slots}
            return st
        for s, arr in st.items():
            if s == "t":
                continue
            if arr.shape != w.shape:
                raise ValueError(f"optimizer: state {name}/{s} has shape {arr.shape}, param has {w.shape}")
            if arr.dtype != w.dtype:  # e.g. a float64 checkpoint loaded into a float32 model
                st[s] = arr.astype(w.dtype)
        return st

    def _init_slot(self, slot, w):
        if slot == "t":
            return np.zeros((), dtype=np.int64)  # per-param update count (adam bias correction)
        return np.zeros_like(w)

    def state_dict(self):
        """Flat plain dict: {"steps": int, "<param name>/<slot>": ndarray copy, ...}."""
        out = {"steps": int(self.steps)}
        for name, st in self.state.items():
            for s, arr in st.items():
                out[f"{name}/{s}"] = arr.copy()
        return out

    def load_state_dict(self, d):
        if "steps" not in d:
            raise ValueError("optimizer state: missing 'steps'")
        state = {}
        for key, arr in d.items():
            if key == "steps":
                continue
            name, sep, slot = key.rpartition("/")  # param names may hold '/', slot names never do
            if not sep or slot not in self.slots:
                raise ValueError(f"optimizer state: unexpected entry {key!r} for {self.config['type']}")
            state.setdefault(name, {})[slot] = np.array(arr, copy=True)
        for name, st in state.items():
            missing = [s for s in self.slots if s not in st]
            if missing:
                raise ValueError(f"optimizer state: {name} lacks {', '.join(missing)}")
        self.steps = int(d["steps"])
        self.state = state


class SGD(Optimizer):
    def _update(self, p, w, g, tmp, st, lr):
        g *= lr
        w -= g  # w -= lr g


class Momentum(Optimizer):
    slots = ("velocity",)

    def _update(self, p, w, g, tmp, st, lr):
        v = st["velocity"]
        v *= self.config["momentum"]
        g *= lr
        v -= g  # v = mu v - lr g
        w += v


class Nesterov(Optimizer):
    slots = ("velocity",)

    def _update(self, p, w, g, tmp, st, lr):
        # w += -mu v + (1 + mu) v_new  ==  w += mu v_new - lr g  (substitute v_new = mu v - lr g)
        mu, v = self.config["momentum"], st["velocity"]
        v *= mu
        g *= lr
        v -= g  # v_new
        w -= g
        np.multiply(v, mu, out=tmp)
        w += tmp


class Adagrad(Optimizer):
    slots = ("accum",)

    def _update(self, p, w, g, tmp, st, lr):
        G = st["accum"]
        np.square(g, out=tmp)
        G += tmp  # G += g^2
        np.sqrt(G, out=tmp)
        tmp += self.config["eps"]
        g /= tmp
        g *= lr
        w -= g  # w -= lr g / (sqrt(G) + eps)


class RMSprop(Optimizer):
    slots = ("mean_square",)

    def _update(self, p, w, g, tmp, st, lr):
        rho, E = self.config["rho"], st["mean_square"]
        E *= rho
        np.square(g, out=tmp)
        tmp *= 1.0 - rho
        E += tmp  # E = rho E + (1 - rho) g^2
        np.sqrt(E, out=tmp)
        tmp += self.config["eps"]
        g /= tmp
        g *= lr
        w -= g  # w -= lr g / (sqrt(E) + eps)


class Adadelta(Optimizer):
    slots = ("mean_square_grad", "mean_square_delta")

    def _update(self, p, w, g, tmp, st, lr):
        rho, eps = self.config["rho"], self.config["eps"]
        Eg, Edx = st["mean_square_grad"], st["mean_square_delta"]
        Eg *= rho
        np.square(g, out=tmp)
        tmp *= 1.0 - rho
        Eg += tmp  # Eg = rho Eg + (1 - rho) g^2
        np.add(Edx, eps, out=tmp)
        np.sqrt(tmp, out=tmp)
        g *= tmp
        np.add(Eg, eps, out=tmp)
        np.sqrt(tmp, out=tmp)
        g /= tmp  # g now holds -dx = sqrt(Edx + eps) / sqrt(Eg + eps) g
        Edx *= rho
        np.square(g, out=tmp)
        tmp *= 1.0 - rho
        Edx += tmp  # Edx = rho Edx + (1 - rho) dx^2
        g *= lr
        w -= g  # w += lr dx (Zeiler's rule has no lr; lr = 1.0 recovers it)


class Adam(Optimizer):
    slots = ("m", "v", "t")

    def _update(self, p, w, g, tmp, st, lr):
        b1, b2 = self.config["beta1"], self.config["beta2"]
        m, v = st["m"], st["v"]
        st["t"] += 1  # per param, so a param unfrozen late gets its own bias correction
        t = int(st["t"])
        np.square(g, out=tmp)
        tmp *= 1.0 - b2
        v *= b2
        v += tmp  # v = b2 v + (1 - b2) g^2
        g *= 1.0 - b1
        m *= b1
        m += g  # m = b1 m + (1 - b1) g
        np.divide(v, 1.0 - b2**t, out=tmp)  # v_hat
        np.sqrt(tmp, out=tmp)
        tmp += self.config["eps"]
        np.divide(m, 1.0 - b1**t, out=g)  # m_hat
        g /= tmp
        g *= lr
        w -= g  # w -= lr m_hat / (sqrt(v_hat) + eps)


class AdamW(Adam):
    def _update(self, p, w, g, tmp, st, lr):
        wd = self.config["weight_decay"]
        if p.decay and wd:
            # Decoupled decay (Loshchilov & Hutter): shrink w directly, outside the adaptive scaling.
            np.multiply(w, lr * wd, out=tmp)
            w -= tmp
        super()._update(p, w, g, tmp, st, lr)


_CLASSES = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adadelta": Adadelta,
    "adam": Adam,
    "adamw": AdamW,
}


def make_optimizer(cfg):
    """Build an optimizer from {"type": ..., hyperparameters...}; missing fields take defaults."""
    norm = normalize_config(cfg)
    return _CLASSES[norm["type"]](norm)
