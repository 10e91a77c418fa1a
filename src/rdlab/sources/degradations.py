"""The degraded inputs of the image restoration experiments of seed 003.

Liu et al. (2022), Appendix B.1, compress a *degraded* image and decode towards the clean
one; two degradations are used:

``"sr"`` (MNIST x4 super-resolution)
    The paper's text says bilinear downsampling 28x28 -> 7x7. The official code
    (liuh127/Cross_domain_LC, ``train_super_res.py``) instead calls
    ``F.interpolate(hr, scale_factor=0.25, mode="bicubic")`` then ``scale_factor=4`` on the
    28x28 images (``--image_size 28``). We follow the paper's text: bilinear, with
    ``align_corners=False`` and no antialiasing (as ``F.interpolate``'s default, which the
    official code also uses). As in the official code the model input is the low-resolution
    image *upsampled back* to the size of the target (28x28 for MNIST), with the same bilinear
    interpolation; :meth:`Degradation.low_resolution` gives the 7x7 images themselves.
``"denoise"`` (SVHN denoising)
    Additive Gaussian noise of standard deviation 20 on the 0-255 pixel scale, i.e.
    ``20 / 255`` on images in [0, 1]. As in the official code (``train_dn.py``) the noisy image
    is *not* clipped (it may leave [0, 1]) and the noise is drawn afresh for every batch; here it
    is drawn from ``np.random.Generator(np.random.PCG64(seed))`` so that a batch is reproducible.

:func:`resize_bilinear` is a numpy implementation of
``torch.nn.functional.interpolate(x, size, mode="bilinear", align_corners=False,
antialias=False)`` that matches it to float32 rounding, so this module needs no torch.

References
----------
.. [1] Liu et al., "Cross-domain lossy compression as entropy constrained optimal transport",
   2022, Appendix B.1 (experimental setup of super-resolution and denoising). Official code:
   https://github.com/liuh127/Cross_domain_LC (``train_super_res.py``, ``train_dn.py``).

Examples
--------
>>> import numpy as np
>>> x = np.zeros((2, 1, 28, 28), dtype=np.float32)
>>> x[:, :, 8:20, 8:20] = 1.0
>>> sr = paper_degradation("sr")
>>> sr.low_resolution(x).shape, sr.apply(x).shape, sr.apply(x).dtype
((2, 1, 7, 7), (2, 1, 28, 28), dtype('float32'))
>>> print(sr.low_resolution(x)[0, 0, 1:6, 1:6])
[[0. 0. 0. 0. 0.]
 [0. 1. 1. 1. 0.]
 [0. 1. 1. 1. 0.]
 [0. 1. 1. 1. 0.]
 [0. 0. 0. 0. 0.]]
>>> dn = paper_degradation("denoise")
>>> bool(np.array_equal(dn.apply(x, seed=3), dn.apply(x, seed=3)))
True
>>> bool(dn.apply(x, seed=3).min() < 0)  # not clipped
True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from rdlab.core.validation import check_in_range, check_int, check_seed

TASKS = ("sr", "denoise")
"""The degradations of Appendix B.1: x4 super-resolution (MNIST) and denoising (SVHN)."""

RESAMPLE = "bilinear, align_corners=False, no antialias"
"""How :func:`resize_bilinear` resamples (the arguments of the matching ``F.interpolate``)."""

PAPER_FACTOR = 4
PAPER_NOISE_LEVEL = 20.0

__all__ = [
    "PAPER_FACTOR",
    "PAPER_NOISE_LEVEL",
    "RESAMPLE",
    "TASKS",
    "Degradation",
    "paper_degradation",
    "resize_bilinear",
]


def _axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Neighbour indices and weights of linear interpolation along one axis (torch's rule).

    In float32 as PyTorch does for float32 tensors: ``scale = float32(in) / out``,
    ``src = scale * (dst + 0.5) - 0.5`` rounded once (a fused multiply-add), clamped below at 0,
    ``i0 = floor(src)``, ``i1 = min(i0 + 1, in - 1)``, ``w1 = src - i0``, ``w0 = 1 - w1``.
    """
    if n_in == n_out:
        idx = np.arange(n_out)
        return idx, idx, np.ones(n_out, np.float32), np.zeros(n_out, np.float32)
    scale = np.float32(n_in) / np.float32(n_out)
    # One rounding of scale * (dst + 0.5) - 0.5 to float32, as the fused multiply-add of
    # PyTorch's CPU kernel: the float64 product and difference are exact for these sizes.
    src = (np.float64(scale) * (np.arange(n_out) + 0.5) - 0.5).astype(np.float32)
    src = np.maximum(src, np.float32(0.0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    w1 = np.clip(src - i0.astype(np.float32), np.float32(0.0), np.float32(1.0))
    i1 = np.minimum(i0 + 1, n_in - 1)
    w0 = np.float32(1.0) - w1
    return i0, i1, w0.astype(np.float32), w1.astype(np.float32)


@functools.lru_cache(maxsize=64)
def _axis_matrix(n_in: int, n_out: int) -> np.ndarray:
    """The read-only (n_out, n_in) float32 matrix of :func:`_axis_weights` (two weights a row)."""
    i0, i1, w0, w1 = _axis_weights(n_in, n_out)
    m = np.zeros((n_out, n_in), dtype=np.float32)
    rows = np.arange(n_out)
    np.add.at(m, (rows, i0), w0)
    np.add.at(m, (rows, i1), w1)
    m.flags.writeable = False
    return m


def _check_size(size: object) -> tuple[int, int]:
    if not isinstance(size, tuple | list) or len(size) != 2:
        raise TypeError(f"size must be a pair (height, width) of integers, got {size!r}")
    return check_int("size[0]", size[0], minimum=1), check_int("size[1]", size[1], minimum=1)


def _check_batch(name: str, images: object) -> np.ndarray:
    """An (n, C, H, W) array with C, H, W >= 1 (any dtype; the caller checks it)."""
    arr = np.asarray(images)
    if arr.ndim != 4:
        raise ValueError(f"{name} must have shape (n, C, H, W), got shape {arr.shape}")
    if min(arr.shape[1:]) < 1:
        raise ValueError(f"{name} must have C, H, W >= 1, got shape {arr.shape}")
    return arr


def resize_bilinear(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize ``(n, C, H, W)`` images to ``size = (height, width)`` by bilinear interpolation.

    Equals ``torch.nn.functional.interpolate(x, size=size, mode="bilinear",
    align_corners=False, antialias=False)`` up to float32 rounding (the interpolation weights
    are bit-identical to PyTorch's; outputs differ by at most a couple of float32 ulps, below
    2e-7 for images in [0, 1]): separable linear interpolation along W then H, the source
    coordinate of output pixel ``d`` being ``(d + 0.5) * in / out - 0.5`` clamped below at 0,
    with the upper neighbour clamped to the last pixel. Each axis is one matrix product with a
    cached two-weights-per-row matrix. Without antialiasing, downsampling by 4 averages only the
    two middle pixels of each group of 4 along each axis.

    Parameters
    ----------
    images
        Finite real floating array of shape ``(n, C, H, W)`` (integer arrays are refused, to
        avoid guessing their scale).
    size
        Output ``(height, width)``, integers >= 1 (larger or smaller than the input).

    Returns
    -------
    numpy.ndarray
        float32 array of shape ``(n, C, height, width)``.
    """
    arr = _check_batch("images", images)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"images must be a floating-point array, got dtype {arr.dtype}")
    out_h, out_w = _check_size(size)
    x = arr.astype(np.float32, copy=False)
    if x.size and not np.all(np.isfinite(x)):
        raise ValueError("images must be finite (found NaN or inf)")
    n, c, h, w = x.shape
    if (out_h, out_w) == (h, w):
        return x.copy()
    # along W: one (n*C*H, W) @ (W, out_w) product; along H: (out_h, H) @ each (H, out_w)
    y = x.reshape(-1, w) @ _axis_matrix(w, out_w).T
    y = np.matmul(_axis_matrix(h, out_h), y.reshape(n * c, h, out_w))
    return np.ascontiguousarray(y.reshape(n, c, out_h, out_w), dtype=np.float32)


@dataclass(frozen=True)
class Degradation:
    """A degradation of Appendix B.1: ``"sr"`` (downsample then upsample) or ``"denoise"``.

    Parameters
    ----------
    task
        ``"sr"`` or ``"denoise"`` (see :data:`TASKS`).
    factor
        Super-resolution factor, an integer in [2, 16] (``"sr"`` only; the image height and
        width must be divisible by it). The paper uses 4 (28x28 -> 7x7).
    noise_level
        Noise standard deviation on the 0-255 pixel scale, in [0, 255] (``"denoise"`` only);
        images in [0, 1] get noise of std ``noise_level / 255``. The paper uses 20.
    """

    task: str
    factor: int = PAPER_FACTOR
    noise_level: float = PAPER_NOISE_LEVEL

    def __post_init__(self) -> None:
        if not isinstance(self.task, str) or self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        object.__setattr__(self, "factor", check_int("factor", self.factor, minimum=2, maximum=16))
        object.__setattr__(
            self, "noise_level", check_in_range("noise_level", self.noise_level, 0.0, 255.0)
        )

    @property
    def deterministic(self) -> bool:
        """True when :meth:`apply` ignores its seed (``"sr"``)."""
        return self.task == "sr"

    def _prepare(self, images: object) -> np.ndarray:
        """float32 (n, C, H, W) images in [0, 1] (uint8 divided by 255), checked."""
        arr = _check_batch("images", images)
        if arr.dtype == np.uint8:
            return arr.astype(np.float32) / np.float32(255.0)
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(
                f"images must be uint8 (0-255) or floating-point in [0, 1], got dtype {arr.dtype}"
            )
        x = arr.astype(np.float32, copy=False)
        if x.size and not np.all(np.isfinite(x)):
            raise ValueError("images must be finite (found NaN or inf)")
        if x.size and (x.min() < 0 or x.max() > 1):
            raise ValueError(
                f"images must lie in [0, 1] (uint8 images are divided by 255); got min "
                f"{float(x.min())}, max {float(x.max())}"
            )
        return x

    def _low_size(self, x: np.ndarray) -> tuple[int, int]:
        h, w = x.shape[2], x.shape[3]
        if h % self.factor or w % self.factor:
            raise ValueError(
                f"images height and width ({h}, {w}) must be divisible by factor {self.factor}"
            )
        return h // self.factor, w // self.factor

    def low_resolution(self, images: np.ndarray) -> np.ndarray:
        """The ``(H / factor) x (W / factor)`` bilinear downsampled images (``"sr"`` only).

        For figures; the model's input is :meth:`apply`'s image, upsampled back to ``H x W``.
        """
        if self.task != "sr":
            raise ValueError(f"low_resolution is defined for task 'sr' only, not {self.task!r}")
        x = self._prepare(images)
        return resize_bilinear(x, self._low_size(x))

    def apply(self, images: np.ndarray, seed: int = 0) -> np.ndarray:
        """The degraded images the model sees, float32 of the same shape as ``images``.

        Parameters
        ----------
        images
            ``(n, C, H, W)`` images, uint8 (divided by 255) or floating in [0, 1].
        seed
            Integer in ``[0, 2**64)``; the noise of ``"denoise"`` is drawn from
            ``np.random.Generator(np.random.PCG64(seed))``. Checked but unused by ``"sr"``,
            which is deterministic.

        Returns
        -------
        numpy.ndarray
            ``"sr"``: the images bilinearly downsampled to ``(H / factor, W / factor)`` and
            upsampled back to ``(H, W)`` (the model sees the upsampled ``H x W`` image, as in
            the official code). ``"denoise"``: ``images + noise_level / 255 * N(0, 1)``, not
            clipped, so values may leave [0, 1] (as in the official code).
        """
        s = check_seed(seed)
        x = self._prepare(images)
        if self.task == "sr":
            low = resize_bilinear(x, self._low_size(x))
            return resize_bilinear(low, (x.shape[2], x.shape[3]))
        rng = np.random.Generator(np.random.PCG64(s))
        noise = rng.standard_normal(x.shape, dtype=np.float32)
        noise *= np.float32(self.noise_level / 255.0)
        return (x + noise).astype(np.float32, copy=False)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready record of the degradation (irrelevant parameters are ``None``)."""
        sr = self.task == "sr"
        return {
            "task": self.task,
            "factor": self.factor if sr else None,
            "noise_level": None if sr else self.noise_level,
            "resample": RESAMPLE if sr else None,
            "clipped": False,
            "model_input_size": "same as the target",
        }


def paper_degradation(task: str) -> Degradation:
    """The degradation of Appendix B.1: ``"sr"`` with factor 4, ``"denoise"`` with std 20."""
    if task == "sr":
        return Degradation("sr", factor=PAPER_FACTOR)
    if task == "denoise":
        return Degradation("denoise", noise_level=PAPER_NOISE_LEVEL)
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")
