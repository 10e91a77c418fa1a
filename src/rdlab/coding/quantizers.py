"""Scalar quantisers of learned codecs: deterministic (DQ), noisy (NQ) and universal (UQ).

Seed 001, Appendix B.1. Each of the d latent dimensions is quantised to L levels evenly spaced
in [-1, 1],

.. math:: c_k = -1 + k\\,\\Delta, \\quad k = 0, \\dots, L-1, \\qquad \\Delta = 2 / (L - 1),

so a code costs at most :math:`d \\log_2 L` bits (the rate bound the paper plots). With the
encoder output :math:`z = f(x)` and :math:`u \\sim U[-\\Delta/2, \\Delta/2]^d`
(:math:`= U[-1/(L-1), 1/(L-1)]^d`):

========  ======================================  ===================================
kind      sent symbol                             decoder input
========  ======================================  ===================================
``dq``    :math:`s = Q(z)`                        :math:`c_s`
``nq``    :math:`s = Q(z)`                        :math:`c_s + u` (u drawn by the decoder)
``uq``    :math:`s = Q(z + u)` (u shared)         :math:`c_s - u` (subtractive dither)
========  ======================================  ===================================

where :math:`Q` is the nearest level. Training uses the hard value in the forward pass and, in
the backward pass, one of two gradient estimators (``gradient``):

- ``"soft"`` (default, seed 001 B.1): the gradient of the soft assignment of Mentzer et al.
  (2018, eq. 3), :math:`\\tilde z = \\sum_k c_k\\,\\mathrm{softmax}_k(-\\sigma |z - c_k|)`;
- ``"identity"``: the straight-through estimator (Bengio et al. 2013; Theis et al. 2017),
  :math:`\\partial Q(z) / \\partial z := 1`.

**Edges.** With ``uq``, :math:`z + u` leaves [-1, 1] whenever :math:`|z| > 1 - \\Delta/2`.
Because :math:`|u| \\le \\Delta/2`, a point of :math:`[-1-\\Delta/2, 1+\\Delta/2]` still has
its nearest lattice point :math:`-1 + k\\Delta` among the L levels, so no clamping happens and
the error :math:`c_s - u - z` is exactly :math:`U[-\\Delta/2, \\Delta/2]` and independent of
:math:`z` for **every** :math:`z \\in [-1, 1]` — the encoders end in tanh, so that is every
input. Only an encoder output outside [-1, 1] (no tanh) is clamped to the end levels, and
then the error is no longer uniform (the tests show both).

Shared randomness: in training the dither comes from a ``torch.Generator``; in the bitstream
it is regenerated from the seed in the header by :func:`dither` (numpy PCG64), so encoder and
decoder agree bit for bit. UQ without common randomness (seed 003, the learned codec's
``"uq-private"``: the decoder subtracts a dither it draws itself, independent of the encoder's)
draws the decoder's dither with :func:`private_dither`, a stream domain-separated from
:func:`dither`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rdlab.core.validation import check_int, check_positive

QUANTIZER_KINDS = ("dq", "nq", "uq")
"""Deterministic, noisy (decoder noise) and universal (subtractive dither) quantisation."""

GRADIENTS = ("soft", "identity")
"""Backward pass of the hard quantiser: soft-to-hard (Mentzer et al.) or straight-through."""


def check_quantizer(kind: object) -> str:
    """Return ``kind`` if it is one of :data:`QUANTIZER_KINDS`."""
    if kind not in QUANTIZER_KINDS:
        raise ValueError(f"quantizer must be one of {', '.join(QUANTIZER_KINDS)}, got {kind!r}")
    return str(kind)


def check_gradient(gradient: object) -> str:
    """Return ``gradient`` if it is one of :data:`GRADIENTS`."""
    if gradient not in GRADIENTS:
        raise ValueError(f"gradient must be one of {', '.join(GRADIENTS)}, got {gradient!r}")
    return str(gradient)


def check_levels(levels: object, name: str = "levels") -> int:
    """Return ``levels`` (an int >= 2)."""
    return check_int(name, levels, minimum=2)


def level_step(levels: int) -> float:
    """Spacing :math:`\\Delta = 2/(L-1)` of L levels in [-1, 1]."""
    return 2.0 / (check_levels(levels) - 1)


PRIVATE_DITHER_TAG = 0x6E6F2D6372
"""Domain-separation tag of :func:`private_dither` (ASCII ``"no-cr"``: no common randomness).
Its stream is seeded by ``SeedSequence([PRIVATE_DITHER_TAG, seed])``, never by ``seed`` alone, so
it cannot coincide with :func:`dither`'s stream for any pair of seeds."""


def _uniform_dither(
    n: int, levels: Sequence[int] | int, bit_generator: np.random.BitGenerator, dim: int | None
) -> np.ndarray:
    """``(n, d)`` float32, column j uniform on :math:`[-1/(L_j-1), 1/(L_j-1))`, drawn from
    ``bit_generator`` (``n`` already checked)."""
    if isinstance(levels, int | np.integer):
        if dim is None:
            raise ValueError("give dim when levels is a single int")
        levels = [int(levels)] * check_int("dim", dim, minimum=1)
    half = np.array([level_step(L) / 2 for L in levels], dtype=np.float64)
    rng = np.random.Generator(bit_generator)
    u = rng.random((n, half.size)) * (2 * half) - half
    return u.astype(np.float32)


def dither(n: int, levels: Sequence[int] | int, seed: int, *, dim: int | None = None) -> np.ndarray:
    """The shared dither of a bitstream: ``(n, d)`` float32, column j uniform on
    :math:`[-1/(L_j-1), 1/(L_j-1))`, drawn from numpy's PCG64 seeded by ``seed``.

    ``levels`` is one L per dimension, or an int with ``dim`` dimensions.

    Examples
    --------
    >>> u = dither(4, [3, 5], seed=7)
    >>> u.shape, bool(abs(u[:, 0]).max() <= 0.5), bool(abs(u[:, 1]).max() <= 0.25)
    ((4, 2), True, True)
    """
    n = check_int("n", n, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    return _uniform_dither(n, levels, np.random.PCG64(seed), dim)


def private_dither(
    n: int, levels: Sequence[int] | int, seed: int, *, dim: int | None = None
) -> np.ndarray:
    """A decoder's own dither, for UQ without common randomness (seed 003, Liu et al. 2022,
    eq. 16): the distribution of :func:`dither` (``(n, d)`` float32, column j uniform on
    :math:`[-1/(L_j-1), 1/(L_j-1))`), but drawn from PCG64 seeded by
    ``SeedSequence([PRIVATE_DITHER_TAG, seed])``, a stream domain-separated from
    :func:`dither`'s: ``private_dither(n, L, s)`` is independent of ``dither(n, L, t)`` for
    every ``s`` and ``t``, equal seeds included.

    Examples
    --------
    >>> u = private_dither(4, [3, 5], seed=7)
    >>> u.shape, bool(abs(u[:, 0]).max() <= 0.5), bool(abs(u[:, 1]).max() <= 0.25)
    ((4, 2), True, True)
    >>> bool(np.any(u != dither(4, [3, 5], seed=7)))
    True
    """
    n = check_int("n", n, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    sequence = np.random.SeedSequence([PRIVATE_DITHER_TAG, seed])
    return _uniform_dither(n, levels, np.random.PCG64(sequence), dim)


def _training_value(z, centers, sigma: float, soft: bool = False, gradient: str = "soft"):
    """Hard nearest level forward; backward the gradient of the soft assignment
    (``gradient="soft"``) or the identity (``"identity"``, straight-through).

    With ``soft=True`` the soft assignment is the forward value and its gradient the backward.
    """
    import torch

    dist = (z.unsqueeze(-1) - centers).abs()
    idx = dist.detach().argmin(-1)
    if gradient == "identity" and not soft:
        return centers[idx] + (z - z.detach()), idx
    relaxed = (torch.softmax(-sigma * dist, dim=-1) * centers).sum(-1)
    if soft:
        return relaxed, idx
    return centers[idx] + (relaxed - relaxed.detach()), idx


class ScalarQuantizer:
    """L levels evenly spaced in [-1, 1] on each of ``dim`` latent dimensions.

    Parameters
    ----------
    kind : {"dq", "nq", "uq"}
        Deterministic, noisy or universal quantisation (module docstring).
    levels : int
        L >= 2.
    dim : int
        Latent dimension d >= 1.
    sigma : float
        Inverse temperature of the soft assignment used for the gradient (> 0; Mentzer et al.
        eq. 3). The official MNIST code uses 1, its SVHN code 2/L.
    gradient : {"soft", "identity"}
        Backward pass of the hard forward value: the soft assignment's gradient (default) or
        the straight-through identity (``sigma`` then only matters for ``soft=True``).

    Examples
    --------
    >>> import torch
    >>> q = ScalarQuantizer("uq", levels=3, dim=2)
    >>> z = torch.tensor([[0.2, -0.9]])
    >>> u = torch.tensor([[0.4, -0.3]])
    >>> q.symbols(z, u).tolist()      # index of the level nearest z + u = (0.6, -1.2)
    [[2, 0]]
    >>> q.decoder_input(q.symbols(z, u), u).round(decimals=4).tolist()   # c_s - u
    [[0.6000000238418579, -0.699999988079071]]
    """

    def __init__(
        self, kind: str, levels: int, dim: int, *, sigma: float = 1.0, gradient: str = "soft"
    ) -> None:
        self.kind = check_quantizer(kind)
        self.levels = check_levels(levels)
        self.dim = check_int("dim", dim, minimum=1)
        self.sigma = check_positive("sigma", sigma)
        self.gradient = check_gradient(gradient)
        self.step = level_step(self.levels)

    @property
    def rate_bound_bits(self) -> float:
        """:math:`d \\log_2 L` bits per input."""
        return self.dim * float(np.log2(self.levels))

    @property
    def needs_noise(self) -> bool:
        """Whether the decoder input depends on u (NQ and UQ)."""
        return self.kind != "dq"

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "levels": self.levels,
            "dim": self.dim,
            "sigma": self.sigma,
            "gradient": self.gradient,
        }

    def centers(self, like: Any = None):
        import torch

        kw = {} if like is None else {"dtype": like.dtype, "device": like.device}
        return torch.linspace(-1.0, 1.0, self.levels, **kw)

    def noise(self, n: int, generator: Any = None, device: str = "cpu"):
        """u ~ U[-Δ/2, Δ/2)^(n, d) from a torch generator (training)."""
        import torch

        u = torch.rand(n, self.dim, generator=generator, device=device)
        return (u - 0.5) * self.step

    def _check_z(self, z: Any) -> None:
        if z.ndim != 2 or z.shape[1] != self.dim:
            raise ValueError(f"latents must have shape (n, {self.dim}), got {tuple(z.shape)}")

    def symbols(self, z: Any, u: Any = None):
        """The sent symbols in {0, ..., L-1}, shape (n, d), int64 (no gradient)."""
        import torch

        self._check_z(z)
        with torch.no_grad():
            v = z + u if self.kind == "uq" else z
            k = torch.round((v + 1.0) / self.step)
            return k.clamp_(0, self.levels - 1).to(torch.int64)

    def decoder_input(self, symbols: Any, u: Any = None):
        """What the decoder sees for received ``symbols`` (and the shared or local noise u)."""
        import torch

        s = torch.as_tensor(symbols)
        if s.dtype not in (torch.int64, torch.int32, torch.uint8, torch.int16):
            raise TypeError(f"symbols must be integers, got {s.dtype}")
        if s.numel() and (int(s.min()) < 0 or int(s.max()) >= self.levels):
            raise ValueError(f"symbols must lie in [0, {self.levels - 1}]")
        dtype = torch.float32 if u is None else u.dtype
        c = self.centers().to(dtype=dtype, device=s.device)[s.long()]
        if self.kind == "dq":
            return c
        if u is None:
            raise ValueError(f"the {self.kind} decoder needs the noise u")
        return c + u if self.kind == "nq" else c - u

    def __call__(self, z: Any, u: Any = None, *, soft: bool = False):
        """Training path: decoder input with hard values forward and soft gradients backward.

        ``soft=True`` sends the soft assignment itself forward (its value and its gradient),
        the relaxation of Agustsson et al. (2017) that a training warm-up may use; the
        decoder then sees continuous inputs. Coding always uses the hard values.
        """
        self._check_z(z)
        if self.kind != "dq" and u is None:
            raise ValueError(f"the {self.kind} quantizer needs the noise u")
        v = z + u if self.kind == "uq" else z
        value, _ = _training_value(
            v, self.centers(like=z), self.sigma, soft=soft, gradient=self.gradient
        )
        if self.kind == "dq":
            return value
        return value + u if self.kind == "nq" else value - u


__all__ = [
    "GRADIENTS",
    "PRIVATE_DITHER_TAG",
    "QUANTIZER_KINDS",
    "ScalarQuantizer",
    "check_gradient",
    "check_levels",
    "check_quantizer",
    "dither",
    "level_step",
    "private_dither",
]
