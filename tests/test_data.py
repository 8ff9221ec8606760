"""Toy generators and the MNIST binary: formats, error messages, shapes, determinism, crops."""
import numpy as np
import pytest

from pyengine.data import (
    MNIST_MAGIC,
    center_crop,
    circle,
    gauss,
    load_mnist,
    mnist_arrays,
    random_crop,
    regression_1d,
    spiral,
    train_val_split,
    write_mnist,
    xor,
)

CLASSIFIERS = [spiral, circle, xor, gauss]


# --- toy generators -----------------------------------------------------------------------------


@pytest.mark.parametrize("gen", CLASSIFIERS)
def test_classification_generators_give_float32_points_and_int64_labels(gen):
    x, y = gen(101, 0.1)
    assert x.shape == (101, 2) and x.dtype == np.float32
    assert y.shape == (101,) and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1}
    assert np.all(np.abs(x) < 7.0)  # Playground's plotting domain is [-6, 6]


@pytest.mark.parametrize("gen", CLASSIFIERS + [regression_1d])
def test_generators_are_deterministic_per_seed(gen):
    a, b, c = gen(50, 0.2, seed=7), gen(50, 0.2, seed=7), gen(50, 0.2, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    d = gen(50, 0.2, rng=np.random.default_rng(7))  # an explicit Generator works the same way
    np.testing.assert_array_equal(a[0], d[0])


@pytest.mark.parametrize("classes, n", [(2, 200), (3, 301), (5, 52)])
def test_spiral_classes_are_balanced(classes, n):
    _, y = spiral(n, 0.0, classes=classes)
    counts = np.bincount(y, minlength=classes)
    assert counts.sum() == n and counts.max() - counts.min() <= 1
    assert len(counts) == classes


def test_spiral_without_noise_lies_on_the_arms():
    x, y = spiral(400, 0.0)
    r = np.hypot(x[:, 0], x[:, 1])
    assert r.max() < 5.0 and r.min() == 0.0
    # arm 1 is arm 0 rotated by pi: point (r sin t, r cos t) -> (-r sin t, -r cos t)
    a0 = x[y == 0][np.argsort(r[y == 0])]
    a1 = x[y == 1][np.argsort(r[y == 1])]
    np.testing.assert_allclose(a1, -a0, atol=1e-5)


def test_generators_shuffle_classes():
    # a prefix is a usable mini-batch: not all of one class
    for gen in CLASSIFIERS:
        _, y = gen(200, 0.0)
        assert 0 < y[:20].sum() < 20, gen.__name__


def test_circle_without_noise_separates_by_radius():
    x, y = circle(300, 0.0)
    r = np.hypot(x[:, 0], x[:, 1])
    assert np.all(r[y == 1] <= 2.5) and np.all(r[y == 0] >= 3.5)
    assert np.bincount(y).tolist() == [150, 150]


def test_xor_without_noise_labels_by_quadrant():
    x, y = xor(300, 0.0)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] >= 0).astype(np.int64))
    assert np.all(np.abs(x) >= 0.3 - 1e-6)  # the gap around the axes


def test_gauss_blobs_centre_on_plus_minus_two():
    x, y = gauss(4000, 0.0)
    np.testing.assert_allclose(x[y == 1].mean(axis=0), [2.0, 2.0], atol=0.05)
    np.testing.assert_allclose(x[y == 0].mean(axis=0), [-2.0, -2.0], atol=0.05)
    np.testing.assert_allclose(x[y == 1].std(axis=0), [np.sqrt(0.5)] * 2, rtol=0.05)


def test_regression_1d_shapes_and_clean_target():
    x, y = regression_1d(64, 0.0)
    assert x.shape == y.shape == (64, 1) and x.dtype == y.dtype == np.float32
    np.testing.assert_allclose(y, np.sin(np.pi * x), atol=1e-6)
    _, noisy = regression_1d(64, 0.5)
    assert 0.3 < np.std(noisy - np.sin(np.pi * x)) < 0.7  # same seed, same x: only noise differs


def test_train_val_split_partitions_with_seeded_shuffle():
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    y = np.arange(10)
    xt, yt, xv, yv = train_val_split(x, y, 0.7, seed=1)
    assert len(xt) == 7 and len(xv) == 3
    assert sorted(np.concatenate([yt, yv]).tolist()) == list(range(10))
    np.testing.assert_array_equal(xt[:, 0], yt)  # pairs stay together
    again = train_val_split(x, y, 0.7, seed=1)
    np.testing.assert_array_equal(again[1], yt)
    assert yt.tolist() != list(range(7))  # actually shuffled
    with pytest.raises(ValueError, match="ratio"):
        train_val_split(x, y, 1.5)


# --- MNIST binary -------------------------------------------------------------------------------


def _sample(n=5, rows=28, cols=28, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, rows, cols), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def test_write_then_load_round_trips_bytes_and_file(tmp_path):
    images, labels = _sample()
    path = tmp_path / "mnist.bin"
    blob = write_mnist(str(path), images, labels)
    assert blob[:8] == MNIST_MAGIC and len(blob) == 16 + 5 * 784 + 5
    assert blob[8:16] == bytes([5, 0, 0, 0, 28, 0, 28, 0])  # little-endian count, rows, cols
    assert path.read_bytes() == blob
    for source in (str(path), path, blob, bytearray(blob), memoryview(blob)):
        got_images, got_labels = load_mnist(source)
        assert got_images.dtype == got_labels.dtype == np.uint8
        np.testing.assert_array_equal(got_images, images)
        np.testing.assert_array_equal(got_labels, labels)


def test_write_without_path_only_returns_bytes():
    images, labels = _sample(2, 3, 4)
    blob = write_mnist(None, images, labels)
    # header, then the pixels row-major, then the labels
    assert blob[16:16 + 24] == images.tobytes() and blob[-2:] == labels.tobytes()
    im, lb = load_mnist(blob)
    assert im.shape == (2, 3, 4)


def test_truncated_file_message_states_expected_and_actual_size():
    header = MNIST_MAGIC + (10000).to_bytes(4, "little") + (28).to_bytes(2, "little") * 2
    blob = header + bytes(1000 - 16)
    with pytest.raises(ValueError, match=r"^mnist.bin: truncated: expected 7850016 bytes, got 1000$"):
        load_mnist(blob)


def test_short_header_and_trailing_bytes_are_rejected():
    with pytest.raises(ValueError, match="mnist.bin: truncated: expected at least 16 header bytes, got 5"):
        load_mnist(b"NNPMN")
    images, labels = _sample(2)
    with pytest.raises(ValueError, match="3 trailing bytes: expected 1586 bytes, got 1589"):
        load_mnist(write_mnist(None, images, labels) + b"xyz")


def test_bad_magic_is_rejected_with_file_name(tmp_path):
    images, labels = _sample(1)
    path = tmp_path / "digits.bin"
    path.write_bytes(b"IDX3MNST" + write_mnist(None, images, labels)[8:])
    with pytest.raises(ValueError, match=r"digits.bin: bad magic b'IDX3MNST'"):
        load_mnist(str(path))


def test_label_out_of_range_is_rejected():
    images, labels = _sample(4)
    blob = bytearray(write_mnist(None, images, labels))
    blob[-2] = 12  # label of image 2
    with pytest.raises(ValueError, match="label out of range 0..9: 12 at index 2"):
        load_mnist(blob)


def test_write_rejects_bad_inputs():
    images, labels = _sample(3)
    with pytest.raises(ValueError, match="labels must have shape"):
        write_mnist(None, images, labels[:2])
    with pytest.raises(ValueError, match="labels must be in 0..9"):
        write_mnist(None, images, np.array([0, 1, 10]))
    with pytest.raises(ValueError, match="pixel values"):
        write_mnist(None, images.astype(np.int32) + 1, labels)


# --- arrays and crops ---------------------------------------------------------------------------


def test_mnist_arrays_scales_to_unit_range_in_nhwc():
    images = np.zeros((2, 28, 28), np.uint8)
    images[0, 0, 0], images[1, 27, 27], images[1, 5, 6] = 255, 51, 1
    x, y = mnist_arrays(images, np.array([3, 7], np.uint8))
    assert x.shape == (2, 28, 28, 1) and x.dtype == np.float32
    assert y.dtype == np.int64 and y.tolist() == [3, 7]
    assert x[0, 0, 0, 0] == 1.0 and x[1, 27, 27, 0] == pytest.approx(0.2) and x[1, 5, 6, 0] == np.float32(1 / 255)
    assert x.sum() == pytest.approx(1.0 + 0.2 + 1 / 255, rel=1e-6)


def test_mnist_arrays_crop_takes_the_central_24x24():
    images = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 251
    images = images.astype(np.uint8)
    x, _ = mnist_arrays(images, [0, 1], crop=24)
    assert x.shape == (2, 24, 24, 1)
    np.testing.assert_array_equal(x[..., 0] * 255, images[:, 2:26, 2:26].astype(np.float32))


def test_mnist_arrays_flatten_gives_rows_of_pixels():
    images, labels = _sample(3)
    x, _ = mnist_arrays(images, labels, crop=24, flatten=True)
    assert x.shape == (3, 576)
    np.testing.assert_allclose(x[1].reshape(24, 24) * 255, images[1, 2:26, 2:26], atol=1e-4)


def test_center_crop_odd_margin_and_bad_size():
    x = np.arange(5 * 5).reshape(1, 5, 5)
    np.testing.assert_array_equal(center_crop(x, 2)[0], [[6, 7], [11, 12]])  # margin 3: 1 top, 2 bottom
    with pytest.raises(ValueError, match="crop size"):
        center_crop(x, 6)


def test_random_crop_windows_come_from_each_own_image():
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1)).astype(np.float32)
    out = random_crop(x, 24, rng=np.random.default_rng(5))
    assert out.shape == (64, 24, 24, 1) and out.dtype == np.float32
    offsets = set()
    for i in range(64):  # locate each crop in its source image: exactly one offset in 0..4 matches
        hits = [(t, l) for t in range(5) for l in range(5) if np.array_equal(x[i, t:t + 24, l:l + 24], out[i])]
        assert len(hits) == 1
        offsets.add(hits[0])
    assert len(offsets) > 10  # offsets vary across samples
    np.testing.assert_array_equal(out, random_crop(x, 24, rng=5))  # an int seed is a seed
