"""Datasets: TensorFlow-Playground-style toy 2-D problems and MNIST from the build's compact binary.

Toy generators follow Playground's `dataset.ts` (same geometry, coordinates roughly in [-6, 6],
`noise` in [0, 1] as Playground's slider / 100) but return class indices 0..K-1 instead of ±1,
and shuffle their points so any prefix is a fair mini-batch. Every generator is deterministic given
`seed` (or an explicit `rng`, a `np.random.Generator`, which wins over `seed`).

MNIST file format (written by the build, see `write_mnist`):
    magic b"NNPMNST1" | uint32 LE count | uint16 LE rows | uint16 LE cols   (16 bytes)
    count * rows * cols uint8 pixels, row-major, 0..255
    count uint8 labels, 0..9
"""
import math
import os
import struct

import numpy as np

MNIST_MAGIC = b"NNPMNST1"
_HEADER = struct.Struct("<8sIHH")  # 16 bytes


def _rng(seed, rng):
    return rng if rng is not None else np.random.default_rng(seed)


def _finish(x, y, rng):
    """Shuffle together and cast to the engine's dtypes."""
    order = rng.permutation(len(y))
    return x[order].astype(np.float32), y[order].astype(np.int64)


def _class_sizes(n, k):
    # Split n into k sizes that differ by at most one, larger ones first.
    return [n // k + (i < n % k) for i in range(k)]


# --- toy 2-D classification ---------------------------------------------------------------------


def spiral(n, noise=0.0, classes=2, seed=0, rng=None):
    """`classes` interleaved spiral arms, radius 0..5 over 1.75 turns; arm k has label k."""
    if classes < 2:
        raise ValueError(f"spiral: classes must be >= 2, got {classes}")
    rng = _rng(seed, rng)
    xs, ys = [], []
    for k, m in enumerate(_class_sizes(n, classes)):
        frac = np.arange(m) / max(m, 1)
        r = 5.0 * frac
        t = 1.75 * 2 * np.pi * frac + 2 * np.pi * k / classes  # two classes: offsets 0 and pi, as Playground
        pts = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        xs.append(pts + rng.uniform(-1, 1, size=(m, 2)) * noise)
        ys.append(np.full(m, k))
    return _finish(np.concatenate(xs), np.concatenate(ys), rng)


def circle(n, noise=0.0, seed=0, rng=None):
    """Label 1 inside radius 2.5, label 0 on a ring 3.5..5; noise may push points across (labels follow)."""
    rng = _rng(seed, rng)
    radius = 5.0
    n_in, n_out = _class_sizes(n, 2)
    r = np.concatenate([rng.uniform(0, radius * 0.5, n_in), rng.uniform(radius * 0.7, radius, n_out)])
    angle = rng.uniform(0, 2 * np.pi, n)
    pts = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    jitter = rng.uniform(-radius, radius, size=(n, 2)) * noise
    # Playground labels by the jittered position but keeps the clean one (so noise flips labels).
    y = (np.hypot(*(pts + jitter).T) < radius * 0.5).astype(np.int64)
    return _finish(pts, y, rng)


def xor(n, noise=0.0, seed=0, rng=None):
    """Quadrants: label 1 where x*y >= 0 (first and third), 0 elsewhere; a 0.3 gap around the axes."""
    rng = _rng(seed, rng)
    pts = rng.uniform(-5, 5, size=(n, 2))
    pts += np.where(pts > 0, 0.3, -0.3)
    jitter = rng.uniform(-5, 5, size=(n, 2)) * noise
    jittered = pts + jitter
    y = (jittered[:, 0] * jittered[:, 1] >= 0).astype(np.int64)
    return _finish(pts, y, rng)


def gauss(n, noise=0.0, seed=0, rng=None):
    """Two Gaussian blobs: label 1 around (2, 2), label 0 around (-2, -2); variance 0.5 + 3.5*noise."""
    rng = _rng(seed, rng)
    std = math.sqrt(0.5 + (4.0 - 0.5) * noise)  # Playground: lerp(0.5, 4, noise) is a variance
    n1, n0 = _class_sizes(n, 2)
    centers = np.concatenate([np.full((n1, 2), 2.0), np.full((n0, 2), -2.0)])
    pts = centers + rng.normal(0.0, std, size=(n, 2))
    y = np.concatenate([np.ones(n1), np.zeros(n0)])
    return _finish(pts, y, rng)


# TensorFlow Playground's feature inputs: what a 2-D point (x1, x2) can be fed to the network as.
PLAYGROUND_FEATURES = {
    "x1": lambda x: x[:, 0],
    "x2": lambda x: x[:, 1],
    "x1sq": lambda x: x[:, 0] ** 2,
    "x2sq": lambda x: x[:, 1] ** 2,
    "x1x2": lambda x: x[:, 0] * x[:, 1],
    "sinx1": lambda x: np.sin(x[:, 0]),
    "sinx2": lambda x: np.sin(x[:, 1]),
}
DEFAULT_FEATURES = ("x1", "x2")


def playground_features(x, names):
    """(n, 2) points -> (n, len(names)) float32 columns, one per feature name (PLAYGROUND_FEATURES)."""
    x = np.asarray(x, dtype=np.float32)
    return np.stack([PLAYGROUND_FEATURES[k](x) for k in names], axis=1).astype(np.float32)


def regression_1d(n, noise=0.0, seed=0, rng=None):
    """x uniform in [-1, 1], y = sin(pi x) + noise * N(0, 1); both (n, 1) float32."""
    rng = _rng(seed, rng)
    x = rng.uniform(-1.0, 1.0, size=(n, 1))
    y = np.sin(np.pi * x) + noise * rng.normal(size=(n, 1))
    return x.astype(np.float32), y.astype(np.float32)


def train_val_split(x, y, ratio=0.8, seed=0):
    """Shuffle and split: the first floor(n * ratio) samples train. Returns (x_train, y_train, x_val, y_val)."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"train_val_split: ratio must be in [0, 1], got {ratio}")
    if len(x) != len(y):
        raise ValueError(f"train_val_split: x has {len(x)} samples, y has {len(y)}")
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(math.floor(len(x) * ratio))
    tr, va = order[:cut], order[cut:]
    return x[tr], y[tr], x[va], y[va]


# --- MNIST --------------------------------------------------------------------------------------


def load_mnist(source, name=None):
    """Parse the build's MNIST binary from a path or a bytes-like object.

    Returns (images uint8 (n, rows, cols), labels uint8 (n,)). The arrays are views of the buffer
    (no copy: the full set is ~55 MB and wasm memory is tight), so they are read-only when the
    source is immutable bytes.
    """
    if isinstance(source, (str, os.PathLike)):
        name = name or os.path.basename(os.fspath(source))
        with open(source, "rb") as f:
            source = f.read()
    name = name or "mnist.bin"
    buf = memoryview(source).cast("B")  # any contiguous buffer, e.g. a Pyodide JS ArrayBuffer
    if len(buf) < _HEADER.size:
        raise ValueError(f"{name}: truncated: expected at least {_HEADER.size} header bytes, got {len(buf)}")
    magic, count, rows, cols = _HEADER.unpack_from(buf)
    if magic != MNIST_MAGIC:
        raise ValueError(f"{name}: bad magic {magic!r}, expected {MNIST_MAGIC!r} (not an nnplay MNIST file)")
    if rows == 0 or cols == 0:
        raise ValueError(f"{name}: bad image size {rows}x{cols}")
    pixels = count * rows * cols
    expected = _HEADER.size + pixels + count
    if len(buf) < expected:
        raise ValueError(f"{name}: truncated: expected {expected} bytes, got {len(buf)}")
    if len(buf) > expected:
        raise ValueError(f"{name}: {len(buf) - expected} trailing bytes: expected {expected} bytes, got {len(buf)}")
    images = np.frombuffer(buf, np.uint8, pixels, _HEADER.size).reshape(count, rows, cols)
    labels = np.frombuffer(buf, np.uint8, count, _HEADER.size + pixels)
    _check_labels(name, labels)
    return images, labels


def _check_labels(name, labels):
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}: label out of range 0..9: {int(labels[i])} at index {i} ({bad.size} bad in all)")


def write_mnist(path, images, labels):
    """Encode (images (n, rows, cols) 0..255, labels (n,) 0..9) in the format above; write to path unless None."""
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 3:
        raise ValueError(f"write_mnist: images must be (n, rows, cols), got shape {images.shape}")
    n, rows, cols = images.shape
    if labels.shape != (n,):
        raise ValueError(f"write_mnist: labels must have shape ({n},), got {labels.shape}")
    if not (0 < rows < 2**16 and 0 < cols < 2**16 and n < 2**32):
        raise ValueError(f"write_mnist: sizes out of range: {n} images of {rows}x{cols}")
    if images.size and (images.min() < 0 or images.max() > 255):
        raise ValueError("write_mnist: pixel values must be in 0..255")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError("write_mnist: labels must be in 0..9")
    blob = b"".join([
        _HEADER.pack(MNIST_MAGIC, n, rows, cols),
        np.ascontiguousarray(images, dtype=np.uint8).tobytes(),
        np.ascontiguousarray(labels, dtype=np.uint8).tobytes(),
    ])
    if path is not None:
        with open(path, "wb") as f:
            f.write(blob)
    return blob


def center_crop(x, size):
    """Central size x size window of (n, H, W, ...) images; odd margins put the extra pixel bottom/right."""
    h, w = x.shape[1], x.shape[2]
    if not (isinstance(size, (int, np.integer)) and 0 < size <= min(h, w)):
        raise ValueError(f"crop size must be an int in 1..{min(h, w)}, got {size!r}")
    top, left = (h - size) // 2, (w - size) // 2
    return x[:, top:top + size, left:left + size]


def random_crop(x, size, rng=None):
    """Per-sample random size x size crop of (n, H, W, ...) images (ConvNetJS's MNIST augmentation).

    `rng` is a np.random.Generator or an int seed. One gather, no Python loop over samples.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    n, h, w = x.shape[:3]
    if not (isinstance(size, (int, np.integer)) and 0 < size <= min(h, w)):
        raise ValueError(f"crop size must be an int in 1..{min(h, w)}, got {size!r}")
    top = rng.integers(0, h - size + 1, n)
    left = rng.integers(0, w - size + 1, n)
    span = np.arange(size)
    rows = (top[:, None] + span)[:, :, None]  # (n, size, 1)
    cols = (left[:, None] + span)[:, None, :]  # (n, 1, size)
    return x[np.arange(n)[:, None, None], rows, cols]  # (n, size, size, ...)


def mnist_arrays(images, labels, crop=None, flatten=False):
    """uint8 images/labels -> (x float32 NHWC (n, H, W, 1) in [0, 1], y int64 (n,)).

    crop=24 keeps the central 24x24 (what a net trained on random 24x24 crops sees at test time);
    flatten=True gives x as (n, H*W) for dense nets.
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"mnist_arrays: images must be (n, rows, cols), got shape {images.shape}")
    if crop is not None:
        images = center_crop(images, crop)
    x = images.astype(np.float32)  # copy of only the kept pixels
    x /= 255.0
    n, h, w = x.shape
    x = x.reshape(n, h * w) if flatten else x.reshape(n, h, w, 1)
    return x, np.asarray(labels).astype(np.int64)
