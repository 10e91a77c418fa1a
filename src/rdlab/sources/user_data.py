"""A user's own data as a source: an ``.npy`` array or a folder of PNG / JPEG images.

One convention, everywhere rdlab takes ``--data PATH``:

=====================================  ===========================================================
what the file holds                    what rdlab sees
=====================================  ===========================================================
``(n,)`` numbers                       n scalar samples (float64)
``(n, m)`` numbers                     n vectors of m components (float64, any finite values)
``(n, H, W)`` images                   n one-channel images ``(n, 1, H, W)``
``(n, C, H, W)`` images, C in 1..4     n images, channels first
=====================================  ===========================================================

Images are ``uint8`` (0..255, divided by 255) or floats already in [0, 1]; rdlab works on
float32 images in [0, 1] (so a squared error summed over an image is in units of that scale).
A folder is read with Pillow: every ``.png``, ``.jpg`` or ``.jpeg`` file in it, sorted by name,
all of one size and one mode (gray, RGB or RGBA; palette images are converted to RGB).
Channel-last arrays ``(n, H, W, C)`` are refused with the fix (``np.moveaxis(a, -1, 1)``).

Every loaded data set carries the SHA-256 of what was read, so a run records exactly which data
it used, and :func:`split_indices` is the one seeded split into training and held-out rows.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.core.io import hash_file, read_npy
from rdlab.core.validation import check_int
from rdlab.sources.base import Source

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
"""File suffixes read from an image folder (case-insensitive)."""

MAX_CHANNELS = 4

_MODE_CHANNELS = {"L": 1, "RGB": 3, "RGBA": 4}


@dataclass(frozen=True)
class UserData:
    """A loaded data set.

    Attributes
    ----------
    path : str
        The file or folder it was read from.
    kind : {"vectors", "images"}
    array : ndarray
        ``(n,)`` or ``(n, m)`` float64 vectors, or ``(n, C, H, W)`` float32 images in [0, 1].
    sha256 : str
        Hex SHA-256 of the bytes read (a folder: of its files' names and bytes, in order).
    """

    path: str
    kind: str
    array: np.ndarray
    sha256: str

    @property
    def n(self) -> int:
        """Number of samples."""
        return int(self.array.shape[0])

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one sample (``()`` for scalars)."""
        return tuple(int(s) for s in self.array.shape[1:])

    def describe(self) -> dict[str, Any]:
        """What a run records about its data (glossary keys)."""
        return {
            "data_path": self.path,
            "data_kind": self.kind,
            "data_sha256": self.sha256,
            "n": self.n,
            "sample_shape": list(self.sample_shape),
        }


def _bad(path: Path, why: str) -> ValueError:
    return ValueError(f"{path}: {why}")


def as_samples(array: object, path: str | os.PathLike = "data") -> tuple[str, np.ndarray]:
    """``(kind, array)`` of a raw array under the convention of the module docstring.

    Raises
    ------
    ValueError
        Empty, not numeric, NaN or inf, images outside [0, 1] (float) or of another integer
        type than uint8, channel-last images, or more than 4 dimensions; the message names
        ``path``.
    """
    p = Path(path)
    a = np.asarray(array)
    if a.dtype == np.bool_ or not (
        np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)
    ):
        raise _bad(p, f"must hold real numbers, got dtype {a.dtype}")
    if a.ndim == 0 or a.shape[0] == 0:
        raise _bad(p, f"must hold at least one sample, got shape {a.shape}")
    if a.ndim > 4:
        raise _bad(p, f"must be (n,), (n, m), (n, H, W) or (n, C, H, W), got shape {a.shape}")
    if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
        raise _bad(p, "holds NaN or inf")
    if a.ndim <= 2:
        return "vectors", a.astype(np.float64)
    if a.ndim == 3:
        a = a[:, None]
    if a.shape[1] > MAX_CHANNELS:
        hint = " (channel-last? use np.moveaxis(a, -1, 1))" if a.shape[-1] <= MAX_CHANNELS else ""
        raise _bad(
            p,
            f"images must be (n, C, H, W) with C in 1..{MAX_CHANNELS}, got shape {a.shape}{hint}",
        )
    if a.dtype == np.uint8:
        return "images", a.astype(np.float32) / np.float32(255.0)
    if np.issubdtype(a.dtype, np.integer):
        raise _bad(p, f"integer images must be uint8 (0..255), got {a.dtype}")
    low, high = float(a.min()), float(a.max())
    if low < 0.0 or high > 1.0:
        raise _bad(p, f"float images must lie in [0, 1], got values in [{low:.4g}, {high:.4g}]")
    return "images", a.astype(np.float32)


def _load_npy(path: Path) -> UserData:
    array = read_npy(path)
    kind, arr = as_samples(array, path)
    return UserData(str(path), kind, arr, hash_file(path).hexdigest())


def _load_folder(path: Path) -> UserData:
    from PIL import Image, UnidentifiedImageError

    files = sorted(f for f in path.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise _bad(path, f"holds no image files ({', '.join(IMAGE_SUFFIXES)})")
    images: list[np.ndarray] = []
    first: tuple[str, tuple[int, int]] | None = None
    h = hashlib.sha256()
    for f in files:
        try:
            with Image.open(f) as im:
                im.load()
                mode = im.mode if im.mode in _MODE_CHANNELS else ("RGB" if im.mode == "P" else None)
                if mode is None:
                    raise _bad(f, f"image mode {im.mode} is not gray, RGB or RGBA")
                arr = np.asarray(im.convert(mode), dtype=np.uint8)
                size = im.size
        except (UnidentifiedImageError, OSError) as exc:
            raise _bad(f, f"is not a readable image ({exc})") from None
        if first is None:
            first = (mode, size)
        elif (mode, size) != first:
            raise _bad(
                f,
                f"is {mode} {size[0]}x{size[1]}, the folder's first image is "
                f"{first[0]} {first[1][0]}x{first[1][1]}: all images must have one size and mode",
            )
        images.append(arr if arr.ndim == 3 else arr[:, :, None])
        h.update(f.name.encode() + b"\0")
        hash_file(f, h)
    stacked = np.moveaxis(np.stack(images), -1, 1)
    kind, arr = as_samples(stacked, path)
    return UserData(str(path), kind, arr, h.hexdigest())


def load_data(path: str | os.PathLike) -> UserData:
    """Read a user's data set (convention in the module docstring).

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "x.npy"
    >>> np.save(f, np.zeros((5, 1, 4, 4), dtype=np.uint8))
    >>> d = load_data(f)
    >>> d.kind, d.array.shape, d.array.dtype
    ('images', (5, 1, 4, 4), dtype('float32'))

    Raises
    ------
    FileNotFoundError
        No such file or folder.
    ValueError
        Not a ``.npy`` file or an image folder, or data that break the convention; the message
        names the file.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p} does not exist")
    if p.is_dir():
        return _load_folder(p)
    if p.suffix.lower() != ".npy":
        raise _bad(p, "must be a .npy array or a folder of PNG/JPEG images")
    return _load_npy(p)


def peek_sample_shape(path: str | os.PathLike) -> tuple[str, tuple[int, ...]]:
    """``(kind, sample_shape)`` of a data file or folder without reading all of it (the header
    of a ``.npy``, the first image of a folder); :func:`load_data` checks the rest.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load_data` for a missing or unreadable file.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p} does not exist")
    if p.is_dir():
        from PIL import Image, UnidentifiedImageError

        files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise _bad(p, f"holds no image files ({', '.join(IMAGE_SUFFIXES)})")
        try:
            with Image.open(files[0]) as im:
                channels = _MODE_CHANNELS.get(im.mode, 3 if im.mode == "P" else 0)
                width, height = im.size
        except (UnidentifiedImageError, OSError) as exc:
            raise _bad(files[0], f"is not a readable image ({exc})") from None
        return "images", (channels, height, width)
    if p.suffix.lower() != ".npy":
        raise _bad(p, "must be a .npy array or a folder of PNG/JPEG images")
    try:
        shape = np.load(p, mmap_mode="r", allow_pickle=False).shape
    except (OSError, ValueError, EOFError) as exc:
        raise _bad(p, f"is not a .npy array file ({exc})") from None
    if len(shape) <= 2:
        return "vectors", tuple(int(s) for s in shape[1:])
    return "images", (1, *shape[1:]) if len(shape) == 3 else tuple(int(s) for s in shape[1:])


def split_indices(n: int, n_eval: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The seeded split of ``n`` rows: ``(held_out, training)`` index arrays.

    A permutation of ``range(n)`` from ``numpy.random.default_rng([seed, 7])``; its first
    ``n_eval`` entries are held out, the rest train. Every rdlab command that fits on a data set
    and measures on held-out rows uses it (and records ``seed`` and ``n_eval``).

    Examples
    --------
    >>> held, train = split_indices(10, 2, seed=0)
    >>> len(held), len(train), sorted([*held, *train]) == list(range(10))
    (2, 8, True)
    """
    n = check_int("n", n, minimum=2)
    n_eval = check_int("n_eval", n_eval, minimum=1, maximum=n - 1)
    perm = np.random.default_rng([check_int("seed", seed, minimum=0), 7]).permutation(n)
    return perm[:n_eval], perm[n_eval:]


class DataSource(Source):
    """A user's data set as a finite source (the empirical law of its rows).

    ``data`` holds the rows as given to NERD's split (vectors float64, images float32 in
    [0, 1]); sampling draws rows with replacement.

    Examples
    --------
    >>> src = DataSource.from_array(np.arange(12.0).reshape(6, 2), name="toy")
    >>> src.sample(3, seed=0).shape, src.describe()["data_kind"]
    ((3, 2), 'vectors')
    """

    def __init__(self, data: UserData, name: str | None = None) -> None:
        if not isinstance(data, UserData):
            raise TypeError(f"data must be UserData, got {type(data).__name__}")
        self.user_data = data
        self.data = data.array
        self.name = name or f"data:{Path(data.path).name}"
        self.scalar = data.array.ndim == 1
        self.dim = 1 if self.scalar else int(np.prod(data.array.shape[1:]))

    @classmethod
    def from_path(cls, path: str | os.PathLike) -> DataSource:
        """The source of :func:`load_data` ``(path)``."""
        return cls(load_data(path))

    @classmethod
    def from_array(cls, array: object, *, name: str = "array") -> DataSource:
        """A source from an in-memory array (same convention as a file)."""
        kind, arr = as_samples(array, name)
        digest = hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()
        return cls(UserData(name, kind, arr, digest), name=name)

    def sample(self, n: int, seed: object) -> np.ndarray:
        from rdlab.core.validation import make_rng

        n = self._check_n(n)
        return self.data[make_rng(seed).integers(0, self.data.shape[0], size=n)]

    def describe(self) -> dict[str, Any]:
        return {"source": self.name, **self.user_data.describe()}


def source_from_spec(spec: dict[str, Any]) -> tuple[Source, str]:
    """A source and the name a run records, from a JSON spec: ``{"data": PATH}`` (a user's
    data, :class:`DataSource`) or ``{"source": NAME, "params": {...}}`` (a registered source).
    Jobs that run in other processes rebuild their source from it."""
    import rdlab.sources.nerd_sources  # noqa: F401 - registers the image and NERD sources
    from rdlab.sources.registry import make_source

    if spec.get("data") is not None:
        src = DataSource.from_path(spec["data"])
        return src, src.name
    return make_source(spec["source"], **(spec.get("params") or {})), spec["source"]


__all__ = [
    "IMAGE_SUFFIXES",
    "DataSource",
    "UserData",
    "as_samples",
    "load_data",
    "peek_sample_shape",
    "source_from_spec",
    "split_indices",
]
