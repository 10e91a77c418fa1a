"""File output: atomic (nothing the user owns is half-written or overwritten by accident),
at exactly the requested path, with the user's permissions; and deterministic safetensors files
(the same tensors and metadata give the same bytes in every process)."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.core.results import jsonable


def check_writable(path: str | os.PathLike, *, overwrite: bool, flag: str = "--force") -> Path:
    """Refuse to clobber an existing file unless ``overwrite``; return the path.

    Also refuses, before any work is done, a path that is a folder or lies under a regular
    file (``NotADirectoryError``/``IsADirectoryError`` naming the culprit).
    """
    p = Path(path)
    check_parent(p)
    if p.is_dir():
        raise IsADirectoryError(f"{p} is a folder; give a file name")
    if p.exists() and not overwrite:
        raise FileExistsError(f"{p} exists; pass {flag} to overwrite it")
    return p


def check_parent(path: str | os.PathLike) -> None:
    """Raise ``NotADirectoryError`` if a parent of ``path`` exists and is not a folder."""
    for parent in Path(path).parents:
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(f"cannot write {path}: {parent} is not a folder")
            return


def atomic_write(path: str | os.PathLike, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` then rename ``tmp_path`` onto ``path`` atomically.

    The temporary file lives in the destination folder (same file system), keeps the
    destination's suffix (so writers that infer the format from it work) and is removed if
    ``writer`` fails.
    """
    dest = Path(path)
    check_parent(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{dest.name}.", suffix=f".tmp{dest.suffix}", dir=dest.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        writer(tmp_path)
        # mkstemp creates the file 0600; give it the mode a plain open() would (the user's
        # umask), or keep the mode of the file it replaces
        mode = dest.stat().st_mode & 0o7777 if dest.is_file() else 0o666 & ~_umask()
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, dest)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return dest


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    with _UMASK_LOCK:  # os.umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda p: p.write_bytes(data))


def save_npy_atomic(path: str | os.PathLike, array: Any) -> Path:
    """Write ``array`` in .npy format (no pickle) at exactly ``path``, whatever its suffix
    (``np.save`` given a name would append ``.npy``)."""

    def write(p: Path) -> None:
        with p.open("wb") as fh:
            np.save(fh, np.asarray(array), allow_pickle=False)

    return atomic_write(path, write)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    text = json.dumps(jsonable(obj), indent=2, sort_keys=False) + "\n"
    return atomic_write(path, lambda p: p.write_text(text))


MAX_JSON_BYTES = 1 << 26
"""Largest JSON file rdlab reads from a run directory (64 MiB)."""

MAX_JSON_DEPTH = 64
"""Deepest nesting of lists and objects rdlab accepts in a JSON file it reads."""


def parse_json_object(
    text: str | bytes,
    what: str,
    *,
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> dict[str, Any]:
    """``text`` as a JSON object, treated as untrusted: at most ``max_bytes``, nesting at most
    ``max_depth`` (checked before parsing, so no parser recursion is needed to refuse a bomb;
    brackets inside strings count too), no NaN or Infinity, an object at the top.

    Raises
    ------
    ValueError
        Any of these broken, naming ``what`` (a file, a metadata field).
    """
    raw = text.encode() if isinstance(text, str) else bytes(text)
    if len(raw) > max_bytes:
        raise ValueError(f"{what} is {len(raw)} bytes of JSON, over the limit of {max_bytes}")
    b = np.frombuffer(raw, dtype=np.uint8)
    opens = (b == ord("[")) | (b == ord("{"))
    closes = (b == ord("]")) | (b == ord("}"))
    if b.size and int(np.cumsum(opens.astype(np.int64) - closes).max()) > max_depth:
        raise ValueError(f"{what} is nested deeper than {max_depth} levels")

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number")

    try:
        obj = json.loads(raw.decode("utf-8"), parse_constant=no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{what} is not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{what} must hold a JSON object, got {type(obj).__name__}")
    return obj


def read_json_object(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON object in the file ``path`` (:func:`parse_json_object`).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Too large, too deep, not JSON, NaN / Infinity, or not an object.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p} is missing")
    if p.stat().st_size > MAX_JSON_BYTES:
        raise ValueError(f"{p} is larger than {MAX_JSON_BYTES} bytes: not an rdlab JSON file")
    return parse_json_object(p.read_bytes(), str(p))


def read_npy(path: str | os.PathLike, name: str | None = None) -> np.ndarray:
    """The real numeric array of a ``.npy`` file, never unpickled.

    Parameters
    ----------
    path : path-like
        The file (one array, as ``np.save`` writes; not an ``.npz`` archive).
    name : str, optional
        How errors name it (an option such as ``--queries``); the path by default.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Empty, truncated or not a ``.npy`` file, an ``.npz`` archive, or an array that is not
        of real numbers (object, string, complex or structured).
    """
    p = Path(path)
    what = str(p) if name is None else f"{name} ({p})"
    if not p.is_file():
        raise FileNotFoundError(f"{what} does not exist")
    try:
        arr = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{what} is not a .npy array file ({exc})") from None
    if not isinstance(arr, np.ndarray):
        arr.close()
        raise ValueError(f"{what} is an .npz archive; save one array with np.save")
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise ValueError(f"{what} must hold real numbers, got dtype {arr.dtype}")
    return arr


def headless_pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (plots go to files only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_figure(fig: Any, path: str | os.PathLike, *, dpi: int = 120, tight: bool = True) -> Path:
    """Write a finished matplotlib figure atomically and close it (even if writing fails).

    The format comes from the destination's suffix; ``tight`` applies ``fig.tight_layout()``
    first. Returns the path written.
    """
    import matplotlib.pyplot as plt

    try:
        if tight:
            fig.tight_layout()
        fmt = Path(path).suffix.lstrip(".") or "png"
        return atomic_write(path, lambda p: fig.savefig(p, format=fmt, dpi=dpi))
    finally:
        plt.close(fig)


def show_image(ax: Any, image: Any) -> None:
    """Draw one image ``(C, H, W)``, C in {1, 3}, values in [0, 1], on the axis ``ax``: grey for
    one channel, RGB for three."""
    import numpy as np

    y = np.asarray(image)
    hwc = np.transpose(y, (1, 2, 0))
    gray = y.shape[0] == 1
    ax.imshow(hwc[..., 0] if gray else hwc, cmap="gray" if gray else None, vmin=0, vmax=1)


def save_image_grid(images: Any, path: str | os.PathLike, *, cols: int | None = None) -> Path:
    """Write images ``(n, C, H, W)`` with values in [0, 1] as one grid PNG, atomically.

    ``cols`` defaults to ceil(sqrt(n)); images are separated by one white pixel.
    """
    import math

    import numpy as np

    y = np.asarray(images, dtype=np.float64)
    if y.ndim != 4 or y.shape[0] < 1 or y.shape[1] not in (1, 3):
        raise ValueError(f"an image grid needs images (n, C in {{1, 3}}, H, W), got {y.shape}")
    n, c, h, w = y.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.ones((rows * (h + 1) + 1, cols * (w + 1) + 1, c))
    for k in range(n):
        r, q = divmod(k, cols)
        top, left = 1 + r * (h + 1), 1 + q * (w + 1)
        grid[top : top + h, left : left + w] = np.transpose(y[k], (1, 2, 0))
    grid = np.clip(grid, 0.0, 1.0)
    plt = headless_pyplot()
    fig, ax = plt.subplots(figsize=(cols * 0.5 + 0.5, rows * 0.5 + 0.5))
    show_image(ax, np.transpose(grid, (2, 0, 1)))
    ax.axis("off")
    return write_figure(fig, path, dpi=110)


# -- deterministic safetensors --------------------------------------------------------------------

SAFETENSORS_DTYPES = {
    "float64": "F64",
    "float32": "F32",
    "float16": "F16",
    "int64": "I64",
    "int32": "I32",
    "int16": "I16",
    "int8": "I8",
    "uint64": "U64",
    "uint32": "U32",
    "uint16": "U16",
    "uint8": "U8",
    "bool": "BOOL",
}
"""numpy dtypes a safetensors file of rdlab may hold, and their safetensors names."""


def _safetensors_parts(
    arrays: Mapping[str, Any], metadata: Mapping[str, str] | None
) -> tuple[bytes, list[np.ndarray]]:
    """The header (length prefix included) and the arrays in file order: names sorted, data
    little-endian and C-contiguous, the JSON with sorted keys, padded with spaces to 8 bytes."""
    meta = dict(metadata or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise TypeError("safetensors metadata must map str to str")
    header: dict[str, Any] = {"__metadata__": meta} if meta else {}
    ordered: list[np.ndarray] = []
    offset = 0
    for name in sorted(arrays):
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ValueError(f"invalid tensor name {name!r}")
        a = np.asarray(arrays[name])
        if a.dtype.name not in SAFETENSORS_DTYPES:
            raise TypeError(f"tensor {name!r} has dtype {a.dtype}, which safetensors cannot hold")
        a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
        header[name] = {
            "dtype": SAFETENSORS_DTYPES[a.dtype.name],
            "shape": list(a.shape),
            "data_offsets": [offset, offset + a.nbytes],
        }
        offset += a.nbytes
        ordered.append(a)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text, ordered


def _safetensors_chunks(
    arrays: Mapping[str, Any], metadata: Mapping[str, str] | None
) -> Iterator[bytes | memoryview]:
    head, ordered = _safetensors_parts(arrays, metadata)
    yield head
    for a in ordered:
        yield memoryview(a.reshape(-1).view(np.uint8))


def write_safetensors(
    path: str | os.PathLike, arrays: Mapping[str, Any], metadata: Mapping[str, str] | None = None
) -> Path:
    """Write ``arrays`` (name -> numpy array) and string ``metadata`` as a safetensors file,
    atomically and deterministically: the same content gives the same bytes in every process
    (the ``safetensors`` package writes its metadata in a random order).

    References
    ----------
    .. [1] The safetensors format, https://github.com/huggingface/safetensors (8-byte
       little-endian header length, JSON header, tensor data).
    """

    def write(p: Path) -> None:
        with p.open("wb") as fh:
            for chunk in _safetensors_chunks(arrays, metadata):
                fh.write(chunk)

    return atomic_write(path, write)


def safetensors_digest(arrays: Mapping[str, Any], metadata: Mapping[str, str] | None) -> bytes:
    """SHA-256 of the bytes :func:`write_safetensors` writes for this content: a model's
    identity that does not depend on how its file was written."""
    h = hashlib.sha256()
    for chunk in _safetensors_chunks(arrays, metadata):
        h.update(chunk)
    return h.digest()


def hash_file(path: str | os.PathLike, h: Any = None) -> Any:
    """Feed a file's bytes to the hashlib object ``h`` (a new SHA-256 when None), in 1 MiB
    blocks; return ``h``."""
    h = hashlib.sha256() if h is None else h
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h


def file_sha256(path: str | os.PathLike) -> bytes:
    """SHA-256 of a file's bytes."""
    return hash_file(path).digest()


def read_safetensors(
    path: str | os.PathLike, framework: str = "np"
) -> tuple[dict[str, Any], dict[str, str]]:
    """The arrays (numpy, or torch tensors with ``framework="pt"``) and string metadata of a
    safetensors file, never unpickled.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a readable safetensors file (any of the ways the format can be broken).
    """
    from safetensors import safe_open

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist")
    try:
        with safe_open(str(p), framework=framework) as fh:
            meta = dict(fh.metadata() or {})
            return {k: fh.get_tensor(k) for k in fh.keys()}, meta
    except Exception as exc:  # safetensors raises its own error types
        raise ValueError(f"{p} is not a readable safetensors file ({exc})") from None


def safetensors_file_digest(path: str | os.PathLike) -> bytes:
    """:func:`safetensors_digest` of a safetensors file's content, however the file was written
    (for a file :func:`write_safetensors` wrote, the SHA-256 of its bytes).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a readable safetensors file.
    """
    arrays, meta = read_safetensors(path)
    return safetensors_digest(arrays, meta)
