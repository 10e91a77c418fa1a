"""Atomic file output: nothing the user owns is half-written or overwritten by accident."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rdlab.core.results import jsonable


def check_writable(path: str | os.PathLike, *, overwrite: bool, flag: str = "--force") -> Path:
    """Refuse to clobber an existing file unless ``overwrite``; return the path."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise FileExistsError(f"{p} exists; pass {flag} to overwrite it")
    return p


def atomic_write(path: str | os.PathLike, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` then rename ``tmp_path`` onto ``path`` atomically.

    The temporary file lives in the destination folder (same file system), keeps the
    destination's suffix (so writers that infer the format from it work) and is removed if
    ``writer`` fails.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{dest.name}.", suffix=f".tmp{dest.suffix}", dir=dest.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        writer(tmp_path)
        os.replace(tmp_path, dest)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return dest


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda p: p.write_bytes(data))


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    text = json.dumps(jsonable(obj), indent=2, sort_keys=False) + "\n"
    return atomic_write(path, lambda p: p.write_text(text))


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
    ax.imshow(grid[..., 0] if c == 1 else grid, cmap="gray" if c == 1 else None, vmin=0, vmax=1)
    ax.axis("off")
    return write_figure(fig, path, dpi=110)
