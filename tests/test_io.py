import pytest

from rdlab.core.io import atomic_write, check_writable, write_json_atomic


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
