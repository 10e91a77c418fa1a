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
