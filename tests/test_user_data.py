"""A user's own data everywhere: one convention for .npy arrays and image folders, clear errors
naming the file, one seeded held-out split recorded in the run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from rdlab.core.glossary import unknown_keys
from rdlab.sources.user_data import DataSource, as_samples, load_data, split_indices

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _save_pngs(folder: Path, images: np.ndarray) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, im in enumerate(images):
        Image.fromarray(im).save(folder / f"{i:03d}.png")


# -- the convention -------------------------------------------------------------------------------
def test_arrays_follow_one_convention(tmp_path):
    cases = {
        "scalars": (np.arange(5.0), "vectors", (5,), np.float64),
        "vectors": (np.ones((4, 3), dtype=np.float32), "vectors", (4, 3), np.float64),
        "gray": (np.full((2, 5, 6), 255, dtype=np.uint8), "images", (2, 1, 5, 6), np.float32),
        "rgb": (np.zeros((2, 3, 4, 4), dtype=np.float64), "images", (2, 3, 4, 4), np.float32),
    }
    for name, (array, kind, shape, dtype) in cases.items():
        np.save(tmp_path / f"{name}.npy", array)
        d = load_data(tmp_path / f"{name}.npy")
        assert (d.kind, d.array.shape, d.array.dtype) == (kind, shape, dtype), name
        digest = hashlib.sha256((tmp_path / f"{name}.npy").read_bytes()).hexdigest()
        assert d.sha256 == digest and d.describe()["data_sha256"] == digest
    assert load_data(tmp_path / "gray.npy").array.max() == 1.0  # uint8 / 255


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([[1.0, np.nan]]), "NaN or inf"),
        (np.zeros((0, 3)), "at least one sample"),
        (np.zeros((2, 8, 8, 3), dtype=np.uint8), "np.moveaxis"),
        (np.zeros((2, 1, 4, 4), dtype=np.int16), "uint8"),
        (np.full((2, 1, 4, 4), 2.0), r"\[0, 1\]"),
        (np.array([True, False]), "real numbers"),
        (np.zeros((1, 1, 1, 1, 1)), "shape"),
    ],
)
def test_bad_arrays_are_clear_errors_naming_the_file(tmp_path, array, message):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(ValueError, match=message) as info:
        load_data(path)
    assert str(path) in str(info.value)


def test_bad_files(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"not a \.npy array file"):
        load_data(tmp_path / "obj.npy")  # never unpickled
    np.savez(tmp_path / "z.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match=r"must be a \.npy array or a folder"):
        load_data(tmp_path / "z.npz")
    (tmp_path / "text.npy").write_text("not numpy")
    with pytest.raises(ValueError, match=r"not a \.npy array file"):
        load_data(tmp_path / "text.npy")
    with pytest.raises(FileNotFoundError):
        load_data(tmp_path / "missing.npy")


def test_image_folders(tmp_path):
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (3, 6, 5), dtype=np.uint8)
    _save_pngs(tmp_path / "gray", gray)
    d = load_data(tmp_path / "gray")
    assert d.kind == "images" and d.array.shape == (3, 1, 6, 5)
    np.testing.assert_array_equal(d.array[:, 0], gray / np.float32(255))
    rgb = rng.integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
    _save_pngs(tmp_path / "rgb", rgb)
    assert load_data(tmp_path / "rgb").array.shape == (2, 3, 4, 4)
    # mixed sizes, a broken file, an empty folder: one line naming the file
    _save_pngs(tmp_path / "mixed", [gray[0]])
    from PIL import Image

    Image.fromarray(np.zeros((7, 7), dtype=np.uint8)).save(tmp_path / "mixed" / "zz.png")
    with pytest.raises(ValueError, match=r"zz\.png.*one size and mode"):
        load_data(tmp_path / "mixed")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "a.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"a\.png: is not a readable image"):
        load_data(tmp_path / "broken")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image files"):
        load_data(tmp_path / "empty")
    # the digest follows the content
    before = load_data(tmp_path / "gray").sha256
    _save_pngs(tmp_path / "gray", gray[::-1])
    assert load_data(tmp_path / "gray").sha256 != before


def test_split_is_seeded_disjoint_and_complete():
    held, train = split_indices(100, 17, seed=3)
    assert len(held) == 17 and len(set(held) | set(train)) == 100 and not set(held) & set(train)
    again = split_indices(100, 17, seed=3)
    assert np.array_equal(held, again[0]) and not np.array_equal(held, split_indices(100, 17, 4)[0])
    with pytest.raises(ValueError, match="n_eval"):
        split_indices(10, 10, seed=0)


def test_data_source_samples_rows():
    src = DataSource.from_array(np.arange(20.0).reshape(10, 2))
    draws = src.sample(50, seed=1)
    assert draws.shape == (50, 2) and set(map(tuple, draws)) <= set(map(tuple, src.data))
    assert src.describe()["data_kind"] == "vectors"
    with pytest.raises(ValueError, match="NaN"):
        as_samples(np.array([np.inf]), "x")


# -- the commands --------------------------------------------------------------------------------
def test_nerd_on_your_data_records_the_split(cli, tmp_path):
    pytest.importorskip("torch")
    x = np.random.default_rng(0).normal(size=(600, 3)) * [2.0, 1.0, 0.5]
    np.save(tmp_path / "x.npy", x)
    tiny = ("--preset", "quick", "--steps", "30", "--n-eval", "64", "--eval-samples", "256")
    code, out, err = cli(
        "nerd", "--data", tmp_path / "x.npy", "--slope=-2", *tiny, "--json", "--out", tmp_path / "r"
    )
    assert code == 0, err
    obj = json.loads(out)
    assert obj["source"] == "data:x.npy" and obj["points"][0]["rate_bits"] >= 0
    cfg = json.loads((tmp_path / "r" / "point-00" / "config.json").read_text())
    split = cfg["split"]
    assert unknown_keys(cfg) == [] and split["split_kind"] == "held-out rows"
    held, _ = split_indices(600, 64, seed=0)
    assert (split["n_total"], split["n_eval"], split["n_train"]) == (600, 64, 536)
    digest = hashlib.sha256(np.asarray(held, dtype="<i8").tobytes()).hexdigest()
    assert split["heldout_sha256"] == digest
    assert cfg["source_description"]["data_sha256"] == load_data(tmp_path / "x.npy").sha256
    # the same split the estimator used
    from rdlab.estimators.nerd import NERDConfig, split_samples

    _, x_ev = split_samples(DataSource.from_path(tmp_path / "x.npy"), NERDConfig(n_eval=64), 0)
    np.testing.assert_array_equal(x_ev, x[held])


def test_nerd_takes_source_parameters(cli):
    pytest.importorskip("torch")
    tiny = ("--preset", "quick", "--steps", "20", "--n-eval", "64", "--eval-samples", "256")
    code, out, err = cli(
        "nerd", "--source", "gaussian", "--variances", "3,2,1", "--slope=-1", *tiny, "--json"
    )
    assert code == 0, err
    assert json.loads(out)["d_max"] == pytest.approx(6.0)
    code, _, err = cli("nerd", "--source", "gaussian20", "--variances", "1", "--slope=-1", *tiny)
    assert code == 2 and "--variances applies to --source gaussian only" in err
    code, _, err = cli("nerd", "--data", "x.npy", "--variances", "1", "--slope=-1", *tiny)
    assert code == 2 and "--variances applies to --source, not to --data" in err


def test_blahut_arimoto_on_your_data(cli, tmp_path):
    x = np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0]]), [4, 2, 1, 1], axis=0)
    np.save(tmp_path / "x.npy", x)
    code, out, err = cli("rd", "empirical", "--data", tmp_path / "x.npy", "--points", "5", "--json")
    assert code == 0, err
    obj = json.loads(out)
    p = np.array([4, 2, 1, 1]) / 8
    support = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    d = ((support[:, None] - support[None]) ** 2).sum(-1)
    assert obj["n_distinct"] == 4 and obj["entropy_bits"] == pytest.approx(-(p * np.log2(p)).sum())
    assert obj["d_max"] == pytest.approx((p @ d).min())
    pts = sorted(obj["points"], key=lambda q: q["distortion"])
    assert [q["rate_bits"] for q in pts] == sorted([q["rate_bits"] for q in pts], reverse=True)
    assert all(q["gap_bits"] <= 1e-4 and q["rate_bits"] <= obj["entropy_bits"] for q in pts)
    code, _, err = cli("rd", "empirical", "--source", "gaussian", "--points", "3")
    assert code == 2 and "--n-samples" in err


def test_learned_codec_on_your_images(cli, tmp_path):
    pytest.importorskip("torch")
    from rdlab.models.learned import load_split

    x = load_split("digits", "test", n=120)
    np.save(tmp_path / "digits.npy", x)
    run = tmp_path / "run"
    code, out, err = cli(
        "lc", "train", "--data", tmp_path / "digits.npy", "--epochs", "1", "--fresh-critic-steps",
        "0", "--no-progress", "--out", run, "--json",
    )  # fmt: skip
    assert code == 0, err
    config = json.loads((run / "config.json").read_text())
    assert unknown_keys(config) == []
    record = config["data_record"]
    assert record["n"] == 120 and record["n_eval"] == 20 and record["sample_shape"] == [1, 8, 8]
    # a folder of the same images encodes with the trained codec
    _save_pngs(tmp_path / "pngs", x[:4, 0])
    code, out, err = cli("encode", run, tmp_path / "pngs", tmp_path / "p.rdl", "--json")
    assert code == 0, err and json.loads(out)["n_samples"] == 4
    # images of a shape no architecture codes: one line naming the shapes
    np.save(tmp_path / "odd.npy", np.zeros((10, 1, 5, 5), dtype=np.uint8))
    code, _, err = cli("lc", "train", "--data", tmp_path / "odd.npy", "--out", tmp_path / "o")
    assert code == 2 and "(1, 28, 28)" in err and "Traceback" not in err


def test_resize_is_pillow_bilinear():
    from PIL import Image

    from rdlab.sources.images import resize_images

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 2, 28, 28), dtype=np.uint8)
    out = resize_images(images, 32)
    assert out.shape == (3, 2, 32, 32) and out.dtype == np.uint8
    ref = np.asarray(Image.fromarray(images[1, 1]).resize((32, 32), Image.BILINEAR))
    np.testing.assert_array_equal(out[1, 1], ref)


@pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="needs the MNIST files")
def test_official_mnist_preprocessing_matches_the_anchor_d_max():
    """The anchor README: D_max of the first 2000 test images resized to 32x32 is 53.73."""
    from rdlab.sources.images import image_source

    src = image_source("mnist", split="test", data_dir=SHARED, n=2000, resize_to=32)
    x = src.as_float(src.data).reshape(2000, -1).astype(np.float64)
    assert float(((x - x.mean(0)) ** 2).sum(1).mean()) == pytest.approx(53.73, abs=0.02)
