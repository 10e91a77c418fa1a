"""The sources of seed 002's NERD experiments, registered by name.

- ``gaussian20-text``: m = 20, variances 4·exp(−k/16), k = 0..19 (§IV-A, Fig. 2 as the text
  states it), under the stored 20-dimensional rotation of ``gaussian20``;
- ``gaussian40``: m = 40, variances 4·exp(−k/4), k = 0..39 (Fig. 15), under a stored
  40-dimensional rotation (``rdlab/data/gaussian40_rotation.npy``; seed and SHA-256 in
  ``rotations.json``);
- ``digits`` (scikit-learn, 8x8, embedded), ``mnist``, ``fmnist`` (28x28, zero-padded to 32x32)
  and ``svhn`` (32x32 RGB), read from a data directory (:mod:`rdlab.sources.images`).

The paper does not say whether k starts at 0 or 1; rdlab starts at 0 like ``gaussian20`` (the
official code's spectrum), so the largest variance is 4.
"""

from __future__ import annotations

import numpy as np

from rdlab.sources.base import GaussianSource, Source
from rdlab.sources.images import ImageSource, image_source
from rdlab.sources.registry import SOURCES, register_source, stored_rotation


def gaussian20_text_variances() -> np.ndarray:
    """4·exp(−k/16), k = 0..19 (seed 002 §IV-A)."""
    return 4.0 * np.exp(-np.arange(20) / 16.0)


def gaussian40_variances() -> np.ndarray:
    """4·exp(−k/4), k = 0..39 (seed 002 Fig. 15)."""
    return 4.0 * np.exp(-np.arange(40) / 4.0)


def _rotated(variances: np.ndarray) -> GaussianSource:
    v = stored_rotation(variances.size)
    return GaussianSource((v * variances) @ v.T)


def _register() -> None:
    if "gaussian20-text" in SOURCES:  # already imported once
        return

    @register_source(
        "gaussian20-text",
        "m=20 Gaussian, variances 4·exp(−k/16), k=0..19 (seed 002 §IV-A), stored rotation",
    )
    def _g20_text() -> Source:
        return _rotated(gaussian20_text_variances())

    @register_source(
        "gaussian40", "m=40 Gaussian, variances 4·exp(−k/4), k=0..39 (seed 002 Fig. 15)"
    )
    def _g40() -> Source:
        return _rotated(gaussian40_variances())

    def _images(name: str):
        def factory(
            data_dir: str | None = None,
            split: str = "train",
            n: int | None = None,
            pad_to: int | None = None,
            resize_to: int | None = None,
        ) -> ImageSource:
            return image_source(
                name, data_dir=data_dir, split=split, n=n, pad_to=pad_to, resize_to=resize_to
            )

        return factory

    register_source("digits", "scikit-learn 8x8 digits (1797 images, embedded; no files)")(
        _images("digits")
    )
    register_source(
        "mnist",
        "MNIST 28x28 padded to 32x32 (--resize 32: resized, the official NERD preprocessing)",
    )(_images("mnist"))
    register_source("fmnist", "Fashion-MNIST 28x28 padded to 32x32 (IDX files from --data-dir)")(
        _images("fmnist")
    )
    register_source("svhn", "SVHN 32x32 RGB (.mat or .npz from --data-dir)")(_images("svhn"))


_register()

__all__ = [
    "gaussian20_text_variances",
    "gaussian40_variances",
]
