"""Encoders, decoders and critics of the learned compressors (seed 001, B.4), in a registry.

A *family* fixes the image shape and the three networks:

- ``mnist`` (1x28x28; also Fashion-MNIST): encoder MLP 784 -> 4w -> 2w -> w -> w -> d with
  BatchNorm and LeakyReLU, the last layer BatchNorm then tanh (w = 128 x ``encoder_width``);
  decoder Linear d -> 128 -> 512 (BatchNorm, LeakyReLU), reshape 32x4x4, ConvT 32->64 (k5 s2),
  64->128 (k5 s2), 128->1 (k4 s1), sigmoid; critic Conv 64/128/256 (k5 s2 p2, LeakyReLU 0.01),
  linear to 1 (Table 6 and the official uRDP code);
- ``svhn`` (3x32x32): encoder Conv 3->64->128->256 (k5 s2 p2, LeakyReLU; the 64 scaled by
  ``encoder_width``), linear to d, tanh; decoder as MNIST's with four transposed convolutions
  32->64 (k5 s2), 64->108 (k5 s2), 108->128 (k5 s1), 128->3 (k4 s1); the same critic (Table 10);
- ``digits`` (1x8x8, scikit-learn's digits, the embedded default): the MNIST design scaled
  down — encoder MLP 64 -> 4w -> 2w -> w -> w -> d (w = 32 x ``encoder_width``), decoder
  Linear d -> 128 -> 512, reshape 32x4x4, ConvT 32->64 (k4 s2 p1) to 8x8, Conv 64->1 (k3 p1),
  sigmoid; critic Conv 64/128 (k3 s2 p1), linear to 1. Not in the paper: it makes the quick
  preset run in seconds.

Every encoder ends in tanh, so latents lie in [-1, 1] where the quantiser's levels are
(:mod:`rdlab.coding.quantizers`). Decoders read the quantised latents of all codes
concatenated (a refinement decoder reads d1 + d2 of them).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from rdlab.core.validation import check_int, check_positive

FAMILIES = ("digits", "mnist", "svhn")

DATA_FAMILIES = {"digits": "digits", "mnist": "mnist", "fmnist": "mnist", "svhn": "svhn"}
"""Which architecture family each data set uses."""

IMAGE_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "svhn": (3, 32, 32)}


def family_of(data: str) -> str:
    """The architecture family of a data set name (``mnist``, ``fmnist``, ``svhn``, ``digits``)."""
    if data not in DATA_FAMILIES:
        raise ValueError(f"data must be one of {', '.join(sorted(DATA_FAMILIES))}, got {data!r}")
    return DATA_FAMILIES[data]


def _mlp_encoder(nn, in_dim: int, base: int, latent_dim: int):
    widths = [in_dim, 4 * base, 2 * base, base, base]
    layers: list[Any] = [nn.Flatten()]
    for a, b in itertools.pairwise(widths):
        layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.LeakyReLU()]
    layers += [nn.Linear(widths[-1], latent_dim), nn.BatchNorm1d(latent_dim), nn.Tanh()]
    return nn.Sequential(*layers)


def _expand(nn, latent_dim: int):
    return [
        nn.Linear(latent_dim, 128),
        nn.BatchNorm1d(128),
        nn.LeakyReLU(),
        nn.Linear(128, 512),
        nn.BatchNorm1d(512),
        nn.LeakyReLU(),
        nn.Unflatten(1, (32, 4, 4)),
    ]


def _convt_block(nn, a: int, b: int, k: int, s: int, p: int = 0):
    return [nn.ConvTranspose2d(a, b, k, s, p), nn.BatchNorm2d(b), nn.LeakyReLU()]


def _build_mnist(nn, latent_dim: int, code_dim: int, width: float):
    encoder = _mlp_encoder(nn, 784, max(1, round(128 * width)), latent_dim)
    decoder = nn.Sequential(
        *_expand(nn, code_dim),
        *_convt_block(nn, 32, 64, 5, 2),
        *_convt_block(nn, 64, 128, 5, 2),
        nn.ConvTranspose2d(128, 1, 4, 1),
        nn.Sigmoid(),
    )
    return encoder, decoder


def _build_svhn(nn, latent_dim: int, code_dim: int, width: float):
    c = max(1, round(64 * width))
    encoder = nn.Sequential(
        nn.Conv2d(3, c, 5, 2, 2),
        nn.LeakyReLU(),
        nn.Conv2d(c, 2 * c, 5, 2, 2),
        nn.LeakyReLU(),
        nn.Conv2d(2 * c, 4 * c, 5, 2, 2),
        nn.LeakyReLU(),
        nn.Flatten(),
        nn.Linear(4 * c * 16, latent_dim),
        nn.Tanh(),
    )
    decoder = nn.Sequential(
        *_expand(nn, code_dim),
        *_convt_block(nn, 32, 64, 5, 2),
        *_convt_block(nn, 64, 108, 5, 2),
        *_convt_block(nn, 108, 128, 5, 1),
        nn.ConvTranspose2d(128, 3, 4, 1),
        nn.Sigmoid(),
    )
    return encoder, decoder


def _build_digits(nn, latent_dim: int, code_dim: int, width: float):
    encoder = _mlp_encoder(nn, 64, max(1, round(32 * width)), latent_dim)
    decoder = nn.Sequential(
        *_expand(nn, code_dim),
        *_convt_block(nn, 32, 64, 4, 2, 1),
        nn.Conv2d(64, 1, 3, 1, 1),
        nn.Sigmoid(),
    )
    return encoder, decoder


def _critic(nn, family: str):
    if family == "digits":
        return nn.Sequential(
            nn.Conv2d(1, 64, 3, 2, 1),
            nn.LeakyReLU(),
            nn.Conv2d(64, 128, 3, 2, 1),
            nn.LeakyReLU(),
            nn.Flatten(),
            nn.Linear(128 * 2 * 2, 1),
        )
    channels = IMAGE_SHAPES[family][0]
    return nn.Sequential(
        nn.Conv2d(channels, 64, 5, 2, 2),
        nn.LeakyReLU(),
        nn.Conv2d(64, 128, 5, 2, 2),
        nn.LeakyReLU(),
        nn.Conv2d(128, 256, 5, 2, 2),
        nn.LeakyReLU(),
        nn.Flatten(),
        nn.Linear(256 * 4 * 4, 1),
    )


_BUILDERS: dict[str, Callable[..., Any]] = {
    "digits": _build_digits,
    "mnist": _build_mnist,
    "svhn": _build_svhn,
}


def build_encoder(family: str, latent_dim: int, width: float = 1.0):
    """One encoder of ``family`` with ``latent_dim`` outputs in [-1, 1]."""
    import torch.nn as nn

    _check_family(family)
    enc, _ = _BUILDERS[family](
        nn, check_int("latent_dim", latent_dim, minimum=1), 1, check_positive("width", width)
    )
    return enc


def build_decoder(family: str, code_dim: int):
    """One decoder of ``family`` reading ``code_dim`` quantised latents."""
    import torch.nn as nn

    _check_family(family)
    _, dec = _BUILDERS[family](nn, 1, check_int("code_dim", code_dim, minimum=1), 1.0)
    return dec


def build_critic(family: str):
    """A WGAN critic of ``family`` (images to one real number)."""
    import torch.nn as nn

    _check_family(family)
    return _critic(nn, family)


def _check_family(family: str) -> None:
    if family not in _BUILDERS:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")


def parameter_count(module: Any) -> int:
    """Number of trainable parameters of a torch module."""
    return int(sum(p.numel() for p in module.parameters()))


__all__ = [
    "DATA_FAMILIES",
    "FAMILIES",
    "IMAGE_SHAPES",
    "build_critic",
    "build_decoder",
    "build_encoder",
    "family_of",
    "parameter_count",
]
