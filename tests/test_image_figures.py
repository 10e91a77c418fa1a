"""Seed 002's image figures on every image set: the choice of the set (ExperimentOptions.
image_data) and 002-fig16 (Fashion-MNIST), 002-fig5 and 002-fig11 (SVHN, RGB) on small
synthetic files written in the layout of the real ones."""

import json
import warnings

import numpy as np
import pytest

from rdlab.estimators.nerd import NERDCeilingWarning
from rdlab.experiments.registry import ExperimentOptions
from rdlab.sources.images import write_idx

TINY_NERD = {
    "steps": 30, "batch_size": 32, "generator_batch": 64, "eval_samples": 256, "n_eval": 60,
    "lr": 5e-3, "generator_params": {"channels": 4},
}  # fmt: skip
TINY_NTC = {"latent_dim": 2, "width": 4, "steps": 10, "batch_size": 16, "n_eval": 60}


def _blobs(n, channels, side, seed):
    """Images of a bright square at a random place: structured, unlike uniform noise."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, channels, side, side), dtype=np.uint8)
    for i, (r, c) in enumerate(rng.integers(0, side - 8, size=(n, 2))):
        x[i, :, r : r + 8, c : c + 8] = rng.integers(128, 256, size=(channels, 1, 1))
    return x


@pytest.fixture
def data_dir(tmp_path):
    """A data folder with Fashion-MNIST (IDX) and SVHN (.npz of its test file) look-alikes."""
    root = tmp_path / "data"
    (root / "fashion-mnist").mkdir(parents=True)
    write_idx(root / "fashion-mnist" / "train-images-idx3-ubyte", _blobs(360, 1, 28, 0)[:, 0])
    (root / "svhn").mkdir()
    svhn = _blobs(360, 3, 32, 1).transpose(0, 2, 3, 1)
    np.savez(root / "svhn" / "svhn_test.npz", X=svhn, y=np.ones(360, dtype=np.uint8))
    return root


def test_image_data_choice(data_dir, monkeypatch):
    monkeypatch.delenv("RDLAB_DATA", raising=False)
    # no data folder: the embedded digits in the quick preset
    assert ExperimentOptions().image_data("quick")[0] == "digits"
    # a folder without MNIST: digits, and the reason recorded
    name, params, info = ExperimentOptions(data_dir=str(data_dir)).image_data("quick")
    assert name == "digits" and "mnist_unavailable" in info
    assert params == {"data_dir": str(data_dir)} and info["data_dir"] == str(data_dir)
    # a figure's own set, and --data over it
    opts = ExperimentOptions(data_dir=str(data_dir))
    assert opts.image_data("quick", default="fmnist")[0] == "fmnist"
    name, params, _ = ExperimentOptions(data="svhn").image_data("quick", default="fmnist")
    assert name == "svhn" and params == {"split": "test"}
    with pytest.raises(ValueError, match="data must be one of digits, mnist"):
        ExperimentOptions(data="gaussian20").image_data("quick")


def test_fig16_on_fashion_mnist(data_dir, tmp_path, monkeypatch):
    import rdlab.experiments.seed002_nerd as fig

    tiny = {
        "n_ba": 40, "ba_points": 4, "nerd": TINY_NERD, "slopes_times_d_max": [-30.0],
        "ntc_weights": [300.0], "ntc": TINY_NTC,
    }  # fmt: skip
    monkeypatch.setitem(fig.FIG1_SETTINGS, "quick", tiny)
    out_dir = tmp_path / "fig16"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NERDCeilingWarning)
        out = fig.fig16(out_dir, "quick", 0, ExperimentOptions(data_dir=str(data_dir)))
    assert out["source"] == "fmnist" and out["n_images"] == 360
    assert out["data_dir"] == str(data_dir) and (out_dir / "curve.png").stat().st_size > 0
    # the jobs read the folder given (not RDLAB_DATA, nor Debian's Fashion-MNIST)
    run = json.loads((out_dir / "point-0" / "config.json").read_text())
    assert run["source"] == "fmnist" and run["source_description"]["n"] == 360
    (ntc,) = out["ntc_points"]  # squared error summed over the 32x32 padded image
    assert 0 < ntc["distortion"] < 32 * 32


def test_fig5_and_fig11_on_svhn(data_dir, tmp_path, monkeypatch):
    import rdlab.experiments.seed002_nerd as nerd_fig
    import rdlab.experiments.seed002_rcc as rcc_fig

    monkeypatch.setitem(
        nerd_fig.FIG1_SETTINGS, "quick", {**nerd_fig.FIG1_SETTINGS["quick"], "nerd": TINY_NERD}
    )
    options = ExperimentOptions(data_dir=str(data_dir))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NERDCeilingWarning)
        out = nerd_fig.fig5(tmp_path / "fig5", "quick", 0, options)
    assert out["source"] == "svhn"
    assert (tmp_path / "fig5" / "higher-rate" / "samples.png").stat().st_size > 0

    nerd = {**TINY_NERD, "n_train": 240, "eval_chunk": 256, "checkpoint_every": 1000}
    nerd.pop("lr")
    monkeypatch.setitem(
        rcc_fig.FIG10_SETTINGS,
        "quick",
        {
            **rcc_fig.FIG10_SETTINGS["quick"],
            "slopes": [-0.05], "n_samples": 6, "extra_log2_n": [1], "max_log2_n": 6,
            "n_grid": 2, "nerd_overrides": nerd, "ntc_weights": [300.0], "ntc": TINY_NTC,
        },
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NERDCeilingWarning)
        r = rcc_fig.fig11(tmp_path / "fig11", "quick", 0, options)
    assert r["source"] == "svhn" and r["image_shape"] == [3, 32, 32]
    assert r["files"] == ["fig11_nerd_rcc_images.png"] and r["round_trip_identical"]
    assert (tmp_path / "fig11" / "fig11_nerd_rcc_images.png").stat().st_size > 0
    (ntc,) = r["ntc_points"]
    assert ntc["distortion_measure"] == "squared_error" and ntc["rate_information_bits"] >= 0
