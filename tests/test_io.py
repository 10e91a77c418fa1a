import pytest

from rdlab.core.io import (
    atomic_write,
    check_writable,
    headless_pyplot,
    write_figure,
    write_json_atomic,
)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    dest = tmp_path / "out.json"
    dest.write_text("original")

    def boom(p):
        p.write_text("partial")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write(dest, boom)
    assert dest.read_text() == "original"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_write_json_and_check_writable(tmp_path):
    dest = write_json_atomic(tmp_path / "a" / "r.json", {"x": float("inf"), "y": [1, 2]})
    assert dest.read_text().startswith("{")
    with pytest.raises(FileExistsError, match="--force"):
        check_writable(dest, overwrite=False)
    assert check_writable(dest, overwrite=True) == dest


def test_write_figure_writes_and_closes(tmp_path):
    plt = headless_pyplot()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    out = write_figure(fig, tmp_path / "f.png")
    assert out.read_bytes().startswith(b"\x89PNG")
    assert not plt.fignum_exists(fig.number)
    # a failed write leaves no file and still closes the figure
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="xyz"):
        write_figure(fig, tmp_path / "f.xyz")
    assert not plt.fignum_exists(fig.number)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png"]


def test_overwrite_removes_only_the_runs_own_files(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    from rdlab.core.rundir import RunDir

    rd = RunDir(tmp_path / "run")
    assert rd.open({"lr": 1}) is False
    rd.write_results({"rate_bits": 1.0})
    rd.save_checkpoint("model", {"w": torch.zeros(2)}, {"step": 1}, architecture={"a": 1})
    rd.figure_path("samples.png").write_bytes(b"png")
    (rd.path / "notes.json").write_text("{}")
    (rd.path / "plot.png").write_bytes(b"png")
    save_file({"w": torch.ones(1)}, str(rd.path / "weights.safetensors"))  # not rdlab's
    mine = ["notes.json", "plot.png", "weights.safetensors"]
    with pytest.raises(FileExistsError, match="--overwrite"):
        rd.open({"lr": 2})
    assert [p.name for p in rd.own_files()] == [
        "config.json",
        "model.safetensors",
        "results.json",
        "samples.png",
    ]
    assert rd.open({"lr": 2}, overwrite=True) is False
    assert sorted(p.name for p in rd.path.iterdir()) == ["config.json", *mine]
    assert rd.read_config() == {"lr": 2}


def test_a_new_run_never_overwrites_files_it_would_write(tmp_path):
    from rdlab.core.rundir import RunDir

    rd = RunDir(tmp_path)
    (tmp_path / "samples.png").write_bytes(b"mine")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"samples\.png"):
        rd.open({"lr": 1})
    assert not rd.config_path.exists()
    assert rd.open({"lr": 1}, overwrite=True) is False
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert not (tmp_path / "samples.png").exists()
    with pytest.raises(ValueError, match="figure name"):
        rd.figure_path("other.png")
