"""Image data sets: IDX and SVHN readers on synthetic files, directory lookup, digits."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from rdlab.sources.images import (
    ImageSource,
    data_dirs,
    find_file,
    image_source,
    load_digits_images,
    load_idx_images,
    pad_images,
    read_idx,
    read_svhn,
    write_idx,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _images(n=5, h=28, w=28, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w), dtype=np.uint8)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip_gzip_or_not(tmp_path, compress):
    a = _images()
    p = write_idx(tmp_path / "x-idx3-ubyte", a, compress=compress)
    assert (p.read_bytes()[:2] == b"\x1f\x8b") == compress
    np.testing.assert_array_equal(read_idx(p), a)
    labels = np.arange(5, dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "y", labels)), labels)


def test_idx_header_is_parsed_by_hand(tmp_path):
    # two 2x3 images, type 0x08, 3 dimensions, big-endian sizes
    raw = bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big") + (2).to_bytes(4, "big")
    raw += (3).to_bytes(4, "big") + bytes(range(12))
    p = tmp_path / "hand"
    p.write_bytes(raw)
    out = read_idx(p)
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8 and out[1, 1, 2] == 11


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x01\x02\x08\x01" + (3).to_bytes(4, "big") + b"abc", "magic"),
        (b"\x00\x00\x07\x01" + (3).to_bytes(4, "big") + b"abc", "type code"),
        (b"\x00\x00\x08\x01" + (4).to_bytes(4, "big") + b"abc", "header says"),
        (b"\x00\x00\x08\x02" + (4).to_bytes(4, "big"), "truncated"),
        (
            gzip.compress(b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"ab", mtime=0),
            "header says",
        ),
        (b"\x1f\x8bnot gzip at all", "gzip"),
    ],
)
def test_idx_bad_files_raise_clear_errors(tmp_path, raw, message):
    p = tmp_path / "bad"
    p.write_bytes(raw)
    with pytest.raises(ValueError, match=message):
        read_idx(p)


def test_mnist_lookup_data_dir_subfolder_env_and_missing(tmp_path, monkeypatch):
    root = tmp_path / "data"
    (root / "mnist").mkdir(parents=True)
    a = _images(7)
    write_idx(root / "mnist" / "train-images-idx3-ubyte.gz", a, compress=True)
    imgs = load_idx_images("mnist", "train", root)
    assert imgs.shape == (7, 1, 28, 28)
    np.testing.assert_array_equal(imgs[:, 0], a)
    monkeypatch.setenv("RDLAB_DATA", str(root))
    src = image_source("mnist")  # found through RDLAB_DATA, padded to 32x32
    assert src.image_shape == (1, 32, 32) and len(src) == 7
    np.testing.assert_array_equal(src.data[:, 0, 2:30, 2:30], a)
    with pytest.raises(FileNotFoundError) as info:
        load_idx_images("mnist", "test", root)
    msg = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in msg and str(root / "mnist") in msg and "--data-dir" in msg
    assert Path("/usr/share/datasets/fashion-mnist") in data_dirs(None, "fashion-mnist")
    # missing everywhere (Debian's Fashion-MNIST package, where installed, left out)
    import rdlab.sources.images as images

    monkeypatch.setitem(images.SYSTEM_DIRS, "fashion-mnist", ())
    with pytest.raises(FileNotFoundError, match="fashion-mnist"):
        image_source("fmnist", data_dir=tmp_path / "empty")
    with pytest.raises(ValueError, match="split"):
        load_idx_images("mnist", "valid", root)


def test_idx_file_of_wrong_kind_is_refused(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.arange(10, dtype=np.uint8))
    with pytest.raises(ValueError, match="shape"):
        load_idx_images("mnist", "train", tmp_path)


def test_svhn_npz_and_mat_readers(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)
    y = np.array([1, 2, 10, 3], dtype=np.uint8)
    np.savez(tmp_path / "svhn_test_first10000.npz", X=x, y=y)
    imgs, labels = read_svhn(tmp_path / "svhn_test_first10000.npz")
    assert imgs.shape == (4, 3, 32, 32) and labels.tolist() == [1, 2, 10, 3]
    np.testing.assert_array_equal(imgs[2], np.transpose(x[2], (2, 0, 1)))
    from scipy.io import savemat

    savemat(tmp_path / "test_32x32.mat", {"X": np.transpose(x, (1, 2, 3, 0)), "y": y[:, None]})
    imgs2, _ = read_svhn(tmp_path / "test_32x32.mat")
    np.testing.assert_array_equal(imgs2, imgs)
    src = image_source("svhn", data_dir=tmp_path, split="test")
    assert src.image_shape == (3, 32, 32) and len(src) == 4
    np.savez(tmp_path / "bad.npz", X=x[:, :16], y=y)
    with pytest.raises(ValueError, match="32x32"):
        read_svhn(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError, match=r"train_32x32\.mat"):
        image_source("svhn", data_dir=tmp_path, split="train")


def test_digits_is_the_embedded_default():
    d = load_digits_images()
    assert d.shape == (1797, 1, 8, 8) and d.dtype == np.uint8 and d.max() == 255
    src = image_source("digits")
    x = src.sample(10, seed=0)
    assert x.shape == (10, 1, 8, 8) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert src.describe()["n"] == 1797


def test_image_source_rejects_wrong_shapes_and_types():
    with pytest.raises(ValueError, match=r"\(n, C, H, W\)"):
        ImageSource(np.zeros((3, 8, 8), dtype=np.uint8))
    with pytest.raises(TypeError, match="uint8"):
        ImageSource(np.zeros((3, 1, 8, 8)))
    with pytest.raises(ValueError, match="C in"):
        ImageSource(np.zeros((3, 2, 8, 8), dtype=np.uint8))
    with pytest.raises(ValueError, match="cannot pad"):
        pad_images(np.zeros((1, 1, 40, 40), dtype=np.uint8), 32)
    with pytest.raises(ValueError, match="unknown image set"):
        image_source("cifar")
    with pytest.raises(FileNotFoundError, match="missing file"):
        find_file("mnist", ("nothing-here",), "/nonexistent-dir")


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="no local MNIST copy")
def test_real_mnist_statistics():
    src = image_source("mnist", data_dir=SHARED, pad_to=28)
    x = src.as_float(src.data)
    assert x.shape == (60000, 1, 28, 28)
    assert float(x.mean()) == pytest.approx(0.13066, abs=1e-4)
    assert float(x.std()) == pytest.approx(0.30811, abs=1e-4)
