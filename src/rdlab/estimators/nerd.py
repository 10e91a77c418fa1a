r"""NERD: neural estimation of the rate-distortion function (seed 002, Lei, Hassani & Saeedi
Bidokhti, §II-IV, Lemma 2, eq. (6)-(11), Algorithm 1).

The rate function of an output law :math:`Q` has the dual form (Lemma 2, eq. (6))

.. math:: R(Q, D) = \sup_{\tilde\beta \le 0}\ \tilde\beta D
          - E_{P_X}\big[\log E_{Y \sim Q}\, e^{\tilde\beta\, d(X, Y)}\big],

and :math:`R(D) = \inf_Q R(Q, D)` (eq. (7)). NERD takes :math:`Q = G_{\theta*} N(0, I)` for a
neural generator :math:`G_\theta` (:mod:`rdlab.estimators.generators`) and minimises over
:math:`\theta` with stochastic gradients (eq. (9)-(11)). Two modes:

- **constrained** (Algorithm 1): a target distortion :math:`D`; at every step the inner
  maximiser :math:`\tilde\beta^*` solves eq. (8) — the tilted mean distortion equals :math:`D` —
  in float64 (:func:`solve_beta`), and the loss is
  :math:`-\frac1B \sum_i \log \frac1M \sum_j e^{\tilde\beta^* d(x_i, y_j)}`;
- **Lagrangian** (what the official code runs): a fixed multiplier :math:`\tilde\beta < 0`; the
  same loss at that :math:`\tilde\beta`, and the distortion is an output.

Units and signs follow rdlab: rates in bits; ``slope`` is dR/dD in bits per unit distortion
(<= 0) and the paper's multiplier is :math:`\tilde\beta = \text{slope} \cdot \ln 2` nats per
unit distortion (``beta_nats``). Distortions are per sample (for ``"squared_error"`` the squared error
summed over the sample's components, as in the paper: :math:`d(x, y) = \|x - y\|_2^2`).

The final estimate (:func:`estimate_rate`) is computed on held-out samples with :math:`M`
generator samples (:math:`10^5` by default) streamed in chunks with running log-sum-exps, so
memory stays bounded; it reports a standard error over :math:`x` and the estimator's ceiling
:math:`\log_2 M` (§III-A) and warns (:class:`NERDCeilingWarning`) within 2 bits of it.

torch is imported inside the functions of this module; numpy arrays are accepted everywhere.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.core.information import LN2
from rdlab.core.results import RDCurve, RDPoint, jsonable
from rdlab.core.torch_state import (
    check_device,
    load_optimizer_tensors,
    optimizer_tensors,
)
from rdlab.core.torch_state import step_seed as chunk_seed
from rdlab.core.validation import check_int, check_positive, check_real

CEILING_MARGIN_BITS = 2.0
"""Warn when an estimate comes within this many bits of log2 M (seed 002 §III-A)."""

DEFAULT_EVAL_SAMPLES = 100_000
"""Generator samples M of the final estimate."""


class NERDCeilingWarning(UserWarning):
    """The estimate is within ``CEILING_MARGIN_BITS`` of log2 M: it may be capped by M."""


class NERDInfeasibleWarning(UserWarning):
    """The target distortion is below what the output law reaches: the rate is infinite."""


# --------------------------------------------------------------------------------------------
# distortions (torch, pairwise)
# --------------------------------------------------------------------------------------------

_LP = re.compile(r"^sq-l(\d+(?:\.\d+)?)$")


def check_distortion_name(name: object) -> str:
    """Validate a distortion name: ``"squared_error"`` or ``"sq-lP"`` (``P >= 1``, e.g.
    ``"sq-l1"``); returns the canonical name.

    ``"squared_error"`` is :math:`\\|x - y\\|_2^2` summed over the sample's components
    (``"sq-l2"`` is the same measure; ``"squared_error"``, the name of rdlab < 0.2, is read as
    ``"squared_error"``); ``"sq-lP"`` is the squared :math:`\\ell_P` distance
    :math:`\\|x - y\\|_P^2` of seed 002 §IV-F (Fig. 7).

    Examples
    --------
    >>> check_distortion_name("sq-l1"), check_distortion_name("mse")
    ('sq-l1', 'squared_error')
    """
    if not isinstance(name, str):
        raise TypeError(f"distortion must be a name (str), got {type(name).__name__}")
    if name in ("squared_error", "mse"):
        return "squared_error"
    m = _LP.match(name)
    if not m or float(m.group(1)) < 1:
        raise ValueError(
            f"distortion must be 'squared_error' or 'sq-lP' with P >= 1 (e.g. 'sq-l1'), "
            f"got {name!r}"
        )
    return name


def pairwise_distortion(name: str) -> Callable[[Any, Any], Any]:
    r"""The pairwise distortion ``f(x, y) -> d`` with ``d[i, j] = d(x_i, y_j)`` in torch.

    ``x`` has shape ``(n, ...)`` and ``y`` shape ``(k, ...)`` with equal trailing shapes; both
    are flattened per sample. The squared error is
    :math:`\|x\|^2 + \|y\|^2 - 2 x \cdot y` (no square root, so the gradient is finite at
    :math:`d = 0`, unlike ``cdist(x, y) ** 2``), clipped at 0 against rounding. The squared
    :math:`\ell_p` distances are computed elementwise, with a gradient that is 0 (not NaN) where
    :math:`x = y`.
    """
    name = check_distortion_name(name)
    import torch

    if name in ("squared_error", "sq-l2"):

        def mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            xf = x.reshape(x.shape[0], -1)
            yf = y.reshape(y.shape[0], -1)
            x2 = (xf * xf).sum(1, keepdim=True)
            y2 = (yf * yf).sum(1)
            return (x2 + y2 - 2.0 * (xf @ yf.T)).clamp_min(0.0)

        return mse

    p = float(_LP.match(name).group(1))  # type: ignore[union-attr]

    def sq_lp(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        xf = x.reshape(x.shape[0], 1, -1)
        yf = y.reshape(1, y.shape[0], -1)
        s = ((xf - yf).abs() ** p).sum(-1)
        positive = s > 0
        safe = torch.where(positive, s, torch.ones_like(s))
        return torch.where(positive, safe ** (2.0 / p), torch.zeros_like(s))

    return sq_lp


# --------------------------------------------------------------------------------------------
# the inner maximisation: eq. (8) solved for beta
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BetaSolution:
    """The maximiser of the dual objective (6) for a matrix of distortions.

    Attributes
    ----------
    beta_nats : float
        :math:`\\tilde\\beta^* \\le 0` in nats per unit distortion (``-inf`` when infeasible).
    distortion : float
        The tilted mean distortion at ``beta_nats`` (eq. (8)); equals the target when solved.
    rate_bits : float
        The dual objective :math:`\\tilde\\beta^* D - \\frac1n\\sum_i\\log\\frac1M\\sum_j
        e^{\\tilde\\beta^* d_{ij}}` in bits: the rate function of the empirical output law.
    iterations : int
        Evaluations of the tilted mean.
    feasible : bool
        False when the target is at or below :math:`\\frac1n\\sum_i \\min_j d_{ij}`, the least
        distortion the empirical output law can reach (the rate function is then infinite).
    converged : bool
        Whether the root was found to the tolerance.
    """

    beta_nats: float
    distortion: float
    rate_bits: float
    iterations: int
    feasible: bool
    converged: bool

    @property
    def slope(self) -> float:
        """dR/dD in bits per unit distortion."""
        return self.beta_nats / LN2


def _as_distance_tensor(d: object):
    import torch

    t = torch.as_tensor(d).detach().to(torch.float64)
    if t.ndim != 2 or t.numel() == 0:
        raise ValueError(f"d must be a non-empty 2-D matrix d[i, j], got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError("d must be finite (found NaN or inf)")
    if bool((t < 0).any()):
        raise ValueError(f"d entries must be >= 0; found min {float(t.min())}")
    return t


def _tilted_rows(d, beta: float):
    """Per row i: log sum_j e^{beta d_ij}, tilted mean and tilted variance of d_i."""
    e = d * beta
    top = e.amax(1, keepdim=True)
    e.sub_(top).exp_()
    tot = e.sum(1)
    lse = top[:, 0] + tot.log()
    e.mul_(d)
    mean = e.sum(1) / tot
    e.mul_(d)
    var = (e.sum(1) / tot - mean * mean).clamp_min(0.0)
    return lse, mean, var


def tilted_distortion(d: object, beta_nats: float) -> tuple[float, float]:
    r"""The tilted mean distortion of eq. (8) and its derivative in :math:`\tilde\beta`.

    .. math:: D(\tilde\beta) = \frac1n \sum_i \frac{\sum_j d_{ij} e^{\tilde\beta d_{ij}}}
              {\sum_j e^{\tilde\beta d_{ij}}}, \qquad
              D'(\tilde\beta) = \frac1n \sum_i \mathrm{Var}_{\tilde\beta}(d_{i\cdot}) \ge 0,

    so :math:`D` is non-decreasing in :math:`\tilde\beta`, from
    :math:`\frac1n\sum_i \min_j d_{ij}` at :math:`-\infty` to the plain mean at 0.

    Examples
    --------
    >>> tilted_distortion([[0.0, 2.0]], 0.0)
    (1.0, 1.0)
    """
    t = _as_distance_tensor(d)
    beta = check_real("beta_nats", beta_nats)
    _, mean, var = _tilted_rows(t, beta)
    return float(mean.mean()), float(var.mean())


def _find_beta(
    fn: Callable[[float], tuple[float, float]],
    target: float,
    beta_start: float,
    tol: float,
    max_iter: int,
    gain_tol: float = 0.0,
) -> tuple[float, float, int, bool]:
    """Root of the non-decreasing D(beta) = target on (-inf, 0), with D(0) > target.

    Safeguarded Newton from ``beta_start < 0``: while no point with D <= target is known the
    bracket is expanded (a stretched Newton step, or doubling |beta|); inside the bracket
    Newton steps fall back to bisection when they leave it. Stops when |D - target| <= ``tol``, when the Newton gain
    of the concave dual objective, (D - target)^2 / (2 D'), is at most ``gain_tol`` nats, or
    when the bracket is as narrow as float64 allows. Returns (beta, D(beta), evaluations,
    converged).
    """
    lo, hi = -math.inf, 0.0
    beta = float(beta_start)
    value = math.nan
    for it in range(1, max_iter + 1):
        value, slope = fn(beta)
        f = value - target
        if abs(f) <= tol or (slope > 0 and f * f / (2.0 * slope) <= gain_tol):
            return beta, value, it, True
        if f > 0:
            hi = beta
        else:
            lo = beta
        newton = beta - f / slope if slope > 0 else -math.inf
        if lo == -math.inf:
            # no point below the target yet: a Newton step stretched by half (to overshoot
            # and so bracket the root), or doubling when Newton gives no usable step
            step = beta - 1.5 * f / slope if slope > 0 else -math.inf
            nxt = step if math.isfinite(step) and step < beta else 2.0 * beta
        else:
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi):
                # the bracket is as narrow as float64 allows
                return beta, value, it, True
            nxt = newton if math.isfinite(newton) and lo < newton < hi else mid
        if nxt == beta:
            return beta, value, it, True
        beta = nxt
    return beta, value, max_iter, False


def solve_beta(
    d: object,
    target_distortion: float,
    *,
    beta_init: float | None = None,
    rtol: float = 1e-10,
    max_iter: int = 200,
) -> BetaSolution:
    r"""Solve eq. (8) for :math:`\tilde\beta^*`: the maximiser of the dual objective (6).

    For a matrix ``d[i, j] = d(x_i, y_j)`` (``n`` source samples, ``M`` samples of the output
    law) finds :math:`\tilde\beta^* \le 0` with :math:`D(\tilde\beta^*) = D` (see
    :func:`tilted_distortion`). The objective
    :math:`\tilde\beta D - \frac1n\sum_i \log\frac1M\sum_j e^{\tilde\beta d_{ij}}` is concave in
    :math:`\tilde\beta` with derivative :math:`D - D(\tilde\beta)`, so

    - :math:`D \ge D(0)` (the plain mean): :math:`\tilde\beta^* = 0`, rate 0;
    - :math:`D \le \frac1n\sum_i\min_j d_{ij}`: infeasible, the objective grows without bound
      (``feasible=False``, ``beta_nats=-inf``, ``rate_bits=inf``);
    - otherwise the unique root, found in float64 with log-sum-exps by bracket expansion and
      safeguarded Newton (:math:`D'` is the mean tilted variance).

    Parameters
    ----------
    d : array_like, shape (n, M)
        Non-negative finite distortions.
    target_distortion : float
        The constraint :math:`D > 0`.
    beta_init : float, optional
        A starting point (e.g. the previous training step's solution).
    rtol : float
        Stop when :math:`|D(\tilde\beta) - D| \le` ``rtol`` :math:`\cdot D` (or when the bracket
        is as narrow as float64 allows).
    max_iter : int
        Most evaluations of the tilted mean.

    Examples
    --------
    >>> sol = solve_beta([[0.0, 2.0]], 0.5)
    >>> round(sol.beta_nats, 6), round(sol.distortion, 6)
    (-0.549306, 0.5)
    """
    import torch

    t = _as_distance_tensor(d)
    target = check_positive("target_distortion", target_distortion)
    check_positive("rtol", rtol)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    m = t.shape[1]
    d0 = float(t.mean())
    if target >= d0:
        return BetaSolution(0.0, d0, 0.0, 1, True, True)
    d_min = float(t.min(1).values.mean())
    if target <= d_min:
        return BetaSolution(-math.inf, d_min, math.inf, 1, False, True)

    def fn(beta: float) -> tuple[float, float]:
        _, mean, var = _tilted_rows(t, beta)
        return float(mean.mean()), float(var.mean())

    if beta_init is not None and math.isfinite(beta_init) and beta_init < 0:
        start = float(beta_init)
    else:
        start = -1.0 / (d0 - target)
    beta, value, its, ok = _find_beta(fn, target, start, rtol * target, max_iter)
    lse, _, _ = _tilted_rows(t, beta)
    rate = (beta * target - float((lse - math.log(m)).mean())) / LN2
    del torch
    return BetaSolution(beta, value, rate, its, True, ok)


def rate_function_bits(d: object, target_distortion: float) -> float:
    r"""The rate function (5)-(6) of the empirical output law in bits:
    :math:`\sup_{\tilde\beta\le0}\ \tilde\beta D - \frac1n\sum_i\log\frac1M\sum_j
    e^{\tilde\beta d_{ij}}`.

    Examples
    --------
    >>> rate_function_bits([[0.0, 1.0], [1.0, 0.0]], 0.5)
    0.0
    """
    return solve_beta(d, target_distortion).rate_bits


# --------------------------------------------------------------------------------------------
# samplers of the output law and the streaming final estimate
# --------------------------------------------------------------------------------------------


class TorchSampler:
    """Draws ``n`` samples of :math:`G_{\\theta*} N(0, I)` with a seed: ``sampler(n, seed)``.

    Parameters
    ----------
    generator : torch.nn.Module
        Has ``latent_dim``; called in evaluation mode without gradients.
    device : str
        Where the latent noise is drawn and the generator runs.
    """

    def __init__(self, generator: Any, device: str = "cpu") -> None:
        self.generator = generator
        self.device = device

    def __call__(self, n: int, seed: int):
        import torch

        g = torch.Generator(device=self.device)
        g.manual_seed(int(seed))
        z = torch.randn(n, self.generator.latent_dim, generator=g, device=self.device)
        was_training = self.generator.training
        self.generator.eval()
        with torch.no_grad():
            y = self.generator(z)
        self.generator.train(was_training)
        return y


@dataclass(frozen=True)
class NERDEstimate:
    """The final NERD estimate on held-out samples.

    Attributes
    ----------
    rate_bits, rate_stderr_bits : float
        The estimate (eq. (11) with :math:`M` output samples) and its standard error over x.
    distortion, distortion_stderr : float
        The tilted mean distortion (the target in constrained mode, up to the solver's
        tolerance) and its standard error over x.
    beta_nats : float
        :math:`\\tilde\\beta \\le 0` (nats per unit distortion).
    mode : str
        ``"constrained"`` or ``"lagrangian"``.
    target_distortion : float or None
        The constraint in constrained mode.
    n_x, n_output_samples : int
        Held-out source samples and output samples :math:`M`.
    ceiling_bits : float
        :math:`\\log_2 M`, the most the estimator can report (§III-A).
    near_ceiling : bool
        Whether ``rate_bits`` is within ``CEILING_MARGIN_BITS`` of the ceiling.
    passes : int
        Passes over the M output samples (more than one in constrained mode).
    converged : bool
        Whether the constrained solve met its tolerance.
    tangent_stderr_bits : float
        Standard error over x of :math:`\\hat R - s \\hat D` (s = ``slope``): the standard error
        of the distance :math:`\\hat R - R(\\hat D)` to a curve of slope s at :math:`\\hat D`
        (to first order), smaller than ``rate_stderr_bits`` when R and D move together.
    """

    rate_bits: float
    rate_stderr_bits: float
    distortion: float
    distortion_stderr: float
    beta_nats: float
    mode: str
    target_distortion: float | None
    n_x: int
    n_output_samples: int
    ceiling_bits: float
    near_ceiling: bool
    passes: int
    converged: bool = True
    tangent_stderr_bits: float = math.nan

    @property
    def slope(self) -> float:
        """dR/dD in bits per unit distortion (``beta_nats / ln 2``)."""
        return self.beta_nats / LN2

    def to_dict(self) -> dict[str, Any]:
        return {**jsonable(asdict(self)), "slope": self.slope}


def _samples_tensor(name: str, value: object, dtype, device: str):
    import torch

    t = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)
    if not (t.is_floating_point() or t.dtype in (torch.uint8, torch.int32, torch.int64)):
        raise TypeError(f"{name} must hold real numbers, got dtype {t.dtype}")
    t = t.to(device=device, dtype=dtype)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim < 2 or t.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n, ...) with n >= 1, got {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    return t


def _eval_distance(name: str):
    """A no-grad pairwise distortion for the final estimate (fewer passes over memory)."""
    import torch

    if name not in ("squared_error", "sq-l2"):
        return pairwise_distortion(name)

    def mse(x: torch.Tensor, y: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        yf = y.reshape(y.shape[0], -1)
        y2 = (yf * yf).sum(1)
        d = torch.addmm(y2[None, :], x.reshape(x.shape[0], -1), yf.T, beta=1.0, alpha=-2.0)
        return d.add_(x2[:, None]).clamp_min_(0.0)

    return mse


def _stream_pass(x, sampler, n_samples, chunk, seed, beta, name, dtype, device, block, need_var):
    """One pass over the M output samples: per x, log sum_j e^{beta d}, tilted mean (and
    tilted variance when ``need_var``).

    Chunks of the output law are drawn with per-chunk seeds, so every pass sees the same
    samples; the running log-sum-exp and tilted moments are merged chunk by chunk.
    """
    import torch

    n = x.shape[0]
    dist = _eval_distance(name)
    is_mse = name in ("squared_error", "sq-l2")
    xf = x.reshape(n, -1)
    x2 = (xf * xf).sum(1)
    lse = torch.full((n,), -math.inf, dtype=dtype, device=device)
    mean = torch.zeros(n, dtype=dtype, device=device)
    second = torch.zeros(n, dtype=dtype, device=device)
    nearest = torch.full((n,), math.inf, dtype=dtype, device=device)
    for c, start in enumerate(range(0, n_samples, chunk)):
        k = min(chunk, n_samples - start)
        y = sampler(k, chunk_seed(seed, c))
        y = torch.as_tensor(y).to(device=device, dtype=dtype)
        if y.shape[0] != k or tuple(y.shape[1:]) != tuple(x.shape[1:]):
            raise ValueError(
                f"the output sampler returned shape {tuple(y.shape)}; expected "
                f"({k}, {', '.join(str(s) for s in x.shape[1:])})"
            )
        if not bool(torch.isfinite(y).all()):
            raise ValueError("the output sampler produced non-finite samples (NaN or inf)")
        per_row = k if is_mse else k * max(1, xf.shape[1])
        rows = max(1, block // per_row)
        with torch.no_grad():
            for i0 in range(0, n, rows):
                sl = slice(i0, min(n, i0 + rows))
                d = dist(x[sl], y, x2[sl]) if is_mse else dist(x[sl], y)
                nearest[sl] = torch.minimum(nearest[sl], d.amin(1))
                e = d * beta
                top = e.amax(1)
                # floored like the training log-sum-exp: no slow subnormal exponentials
                e.sub_(top[:, None]).clamp_min_(-LSE_FLOOR_NATS).exp_()
                tot = e.sum(1)
                l_c = top + tot.log()
                e.mul_(d)
                m_c = e.sum(1) / tot
                new = torch.logaddexp(lse[sl], l_c)
                w_old = torch.exp(lse[sl] - new)
                w_new = torch.exp(l_c - new)
                mean[sl] = w_old * mean[sl] + w_new * m_c
                if need_var:
                    e.mul_(d)
                    second[sl] = w_old * second[sl] + w_new * (e.sum(1) / tot)
                lse[sl] = new
    var = (second - mean * mean).clamp_min(0.0) if need_var else None
    return lse, mean, var, nearest


def estimate_rate(
    sampler: Callable[[int, int], Any],
    x: object,
    *,
    seed: int,
    target_distortion: float | None = None,
    slope: float | None = None,
    distortion: str = "squared_error",
    n_samples: int = DEFAULT_EVAL_SAMPLES,
    chunk_size: int = 8192,
    beta_init: float | None = None,
    rtol: float = 1e-7,
    max_passes: int = 30,
    device: str = "cpu",
    dtype: str = "float64",
    warn: bool = True,
) -> NERDEstimate:
    r"""The NERD estimate (eq. (11)) of an output law on held-out source samples.

    With :math:`M` = ``n_samples`` draws :math:`y_j` of the output law and the rows
    :math:`x_i` of ``x``:

    - constrained mode (``target_distortion``): :math:`\hat R = \sup_{\tilde\beta\le0}
      \tilde\beta D - \frac1n\sum_i \log\frac1M\sum_j e^{\tilde\beta d(x_i, y_j)}`, the
      maximiser found by safeguarded Newton over passes through the M samples;
    - Lagrangian mode (``slope``): :math:`\tilde\beta = \text{slope}\cdot\ln 2`,
      :math:`\hat D = \frac1n\sum_i E_{\tilde\beta}[d(x_i, Y)]` (tilted mean) and
      :math:`\hat R = \tilde\beta \hat D - \frac1n\sum_i\log\frac1M\sum_j e^{\tilde\beta
      d(x_i, y_j)}` — the point of the curve with slope ``slope`` for this output law.

    The M samples are drawn in chunks of ``chunk_size`` (chunk ``c`` with seed
    ``chunk_seed(seed, c)``) and merged with running log-sum-exps, so memory is
    :math:`O(n + \text{chunk})` whatever M is. The standard errors are over x (the per-x terms
    are averaged). The estimate cannot exceed :math:`\log_2 M` (§III-A); a
    :class:`NERDCeilingWarning` is issued within 2 bits of it.

    Parameters
    ----------
    sampler : callable
        ``sampler(n, seed)`` returns ``n`` samples (array or tensor of shape ``(n, ...)``,
        matching ``x``'s trailing shape), e.g. :class:`TorchSampler` or the exact
        ``GaussianTestChannel.sample_output``.
    x : array_like, shape (n, ...)
        Held-out source samples (never the training batch).
    seed : int
        Seed of the output samples.
    target_distortion, slope : float
        Exactly one: the constraint D > 0, or dR/dD < 0 in bits per unit distortion.
    distortion : str
        ``"squared_error"`` or ``"sq-lP"`` (:func:`pairwise_distortion`).
    n_samples : int
        M (default :math:`10^5`).
    chunk_size : int
        Output samples per chunk.
    beta_init : float, optional
        Starting point of the constrained solve (nats), e.g. the end of training.
    rtol : float
        Constrained mode: stop when the tilted mean is within ``rtol * D`` of D.
    max_passes : int
        Constrained mode: most passes through the M samples.
    device : str
        ``"cpu"`` or ``"cuda"``.
    dtype : {"float64", "float32"}
        Arithmetic of the distances and sums.
    warn : bool
        Issue :class:`NERDCeilingWarning` near the ceiling.

    Returns
    -------
    NERDEstimate

    Examples
    --------
    A point mass at the mean has rate 0 at any slope:

    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((50, 2))
    >>> est = estimate_rate(lambda n, s: np.zeros((n, 2)), x, seed=0, slope=-1.0,
    ...                     n_samples=100, warn=False)
    >>> abs(est.rate_bits) < 1e-12
    True
    """
    import torch

    if (target_distortion is None) == (slope is None):
        raise ValueError(
            "give exactly one of target_distortion (constrained) or slope (Lagrangian)"
        )
    device = check_device(device)
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    tdtype = getattr(torch, dtype)
    m = check_int("n_samples", n_samples, minimum=1)
    chunk = check_int("chunk_size", chunk_size, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    max_passes = check_int("max_passes", max_passes, minimum=1)
    check_distortion_name(distortion)
    xt = _samples_tensor("x", x, tdtype, device)
    n = xt.shape[0]
    block = 1 << 22
    ceiling = math.log2(m)
    passes = 0
    cache: dict[float, tuple] = {}

    def run(beta: float, need_var: bool = True):
        nonlocal passes
        if beta not in cache or (need_var and cache[beta][2] is None):
            passes += 1
            cache[beta] = _stream_pass(
                xt, sampler, m, chunk, seed, beta, distortion, tdtype, device, block, need_var
            )
        return cache[beta]

    converged = True
    if slope is not None:
        s = check_real("slope", slope)
        if s > 0:
            raise ValueError(
                f"slope must be <= 0 (dR/dD in bits per unit distortion), got {s}; "
                "the paper's multiplier beta = slope * ln 2 is <= 0 too"
            )
        beta = s * LN2
        lse, d_i, _, _ = run(beta, need_var=False)
        rate_i = beta * d_i - (lse - math.log(m))
        target = None
    else:
        target = check_positive("target_distortion", target_distortion)
        start = None
        if beta_init is not None and math.isfinite(beta_init) and beta_init < 0:
            start = float(beta_init)
            if float(run(start)[1].mean()) >= target:
                d0 = math.inf
            else:
                d0 = float(run(0.0, need_var=False)[1].mean())
        else:
            d0 = float(run(0.0, need_var=False)[1].mean())
        d_least = float(next(iter(cache.values()))[3].mean())
        if target >= d0:
            beta = 0.0
        elif target <= d_least:
            warnings.warn(
                f"target_distortion {target:.6g} is at or below {d_least:.6g}, the least "
                f"distortion the output law reaches on the held-out samples with M = {m} "
                "samples (mean distance to the nearest output sample): the rate function is "
                "infinite there; train longer, use more output samples or a larger D",
                NERDInfeasibleWarning,
                stacklevel=2,
            )
            return NERDEstimate(
                rate_bits=math.inf,
                rate_stderr_bits=math.nan,
                distortion=d_least,
                distortion_stderr=math.nan,
                beta_nats=-math.inf,
                mode="constrained",
                target_distortion=target,
                n_x=n,
                n_output_samples=m,
                ceiling_bits=ceiling,
                near_ceiling=True,
                passes=passes,
                converged=False,
            )
        else:
            if start is None:
                start = -1.0 / (d0 - target)

            def fn(b: float) -> tuple[float, float]:
                out = run(b)
                return float(out[1].mean()), float(out[2].mean())

            # stop when the dual objective is within 1e-6 nats of its maximum (Newton gain)
            beta, _, _, converged = _find_beta(
                fn, target, start, rtol * target, max_passes, gain_tol=1e-6
            )
        lse, d_i, _, _ = run(beta, need_var=False)
        rate_i = beta * target - (lse - math.log(m))
    rate_i = rate_i / LN2

    def se(v) -> float:
        return float(v.std(unbiased=True)) / math.sqrt(n) if n > 1 else math.nan

    rate = float(rate_i.mean())
    near = rate > ceiling - CEILING_MARGIN_BITS
    if near and warn:
        warnings.warn(
            f"the NERD estimate {rate:.3f} bits is within {CEILING_MARGIN_BITS:g} bits of its "
            f"ceiling log2 M = {ceiling:.3f} bits (M = {m} output samples); it may be capped — "
            "use more output samples",
            NERDCeilingWarning,
            stacklevel=2,
        )
    return NERDEstimate(
        rate_bits=rate,
        rate_stderr_bits=se(rate_i),
        distortion=float(d_i.mean()),
        distortion_stderr=se(d_i),
        beta_nats=float(beta),
        mode="lagrangian" if slope is not None else "constrained",
        target_distortion=target,
        n_x=n,
        n_output_samples=m,
        ceiling_bits=ceiling,
        near_ceiling=bool(near),
        passes=passes,
        converged=bool(converged),
        tangent_stderr_bits=se(rate_i - (beta / LN2) * d_i),
    )


# --------------------------------------------------------------------------------------------
# configuration, training and the end-to-end estimate
# --------------------------------------------------------------------------------------------


TRAIN_PRECISIONS = ("float32", "bfloat16")
"""Allowed :attr:`NERDConfig.train_precision` values."""


@dataclass(frozen=True)
class NERDConfig:
    """Settings of one NERD estimate.

    Attributes
    ----------
    steps : int
        Gradient steps T of Algorithm 1.
    batch_size : int
        Source samples B per step.
    generator_batch : int
        Output samples per step (the inner :math:`E_{P_Z}` of eq. (11)); their number caps
        the in-batch rate at log2 of it, so keep it above 2^R.
    lr, lr_final : float
        Adam learning rate, decayed along a cosine from ``lr`` to ``lr_final``.
    n_train : int
        Training samples n drawn from a source (finite data sets use all but ``n_eval``).
    n_eval : int
        Held-out source samples of the final estimate.
    eval_samples : int
        Output samples M of the final estimate.
    eval_chunk : int
        Output samples per chunk of the final estimate.
    generator : str or None
        Registered generator (``"mlp"`` for vectors, ``"dcgan"`` for images when None).
    generator_params : dict
        Its parameters (e.g. ``{"width": 64}`` or ``{"channels": 32}``).
    latent_dim : int or None
        Latent dimension (the generator's default when None).
    checkpoint_every : int
        Steps between checkpoints when a run directory is given.
    log_every : int
        Steps between entries of the training history.
    train_precision : {"float32", "bfloat16"}
        Arithmetic of the generator's forward and backward passes in training: ``"bfloat16"``
        runs them under ``torch.autocast`` (the distortion matrix and the loss stay float32).
        The final estimate is always computed in ``eval_dtype`` from float32 weights, so the
        choice moves only how well the generator is trained, never the estimate of the trained
        one. On the DCGAN generator it about halves a CPU step on cores with AVX-512 BF16
        (measured in docs/benchmarks.md).
    """

    steps: int = 3000
    batch_size: int = 256
    generator_batch: int = 4096
    lr: float = 1e-3
    lr_final: float = 1e-5
    n_train: int = 60_000
    n_eval: int = 8192
    eval_samples: int = DEFAULT_EVAL_SAMPLES
    eval_chunk: int = 8192
    generator: str | None = None
    generator_params: dict[str, Any] = field(default_factory=dict)
    latent_dim: int | None = None
    checkpoint_every: int = 500
    log_every: int = 50
    train_precision: str = "float32"

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "generator_batch", "n_train", "n_eval"):
            check_int(name, getattr(self, name), minimum=1)
        for name in ("eval_samples", "eval_chunk", "checkpoint_every", "log_every"):
            check_int(name, getattr(self, name), minimum=1)
        check_positive("lr", self.lr)
        check_positive("lr_final", self.lr_final)
        if self.lr_final > self.lr:
            raise ValueError(f"lr_final must be <= lr, got {self.lr_final} > {self.lr}")
        if self.train_precision not in TRAIN_PRECISIONS:
            raise ValueError(
                f"train_precision must be one of {TRAIN_PRECISIONS}, got {self.train_precision!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


NERD_PRESETS: dict[str, NERDConfig] = {
    "quick": NERDConfig(
        steps=800,
        batch_size=256,
        generator_batch=2048,
        lr=5e-3,
        n_train=20_000,
        n_eval=2048,
        eval_samples=20_000,
        log_every=20,
    ),
    "default": NERDConfig(),
    "paper": NERDConfig(
        steps=20_000,
        batch_size=512,
        generator_batch=8192,
        n_eval=16_384,
        log_every=100,
        checkpoint_every=1000,
    ),
}
"""Named settings: ``quick`` (tests and demos, seconds to a minute on 2 CPU cores),
``default`` (a Gaussian point in a few minutes on 2 cores) and ``paper``."""


LSE_FLOOR_NATS = 70.0
r"""Log-sum-exps over generator samples (training and the final estimate) raise terms more
than this many nats below their row's largest up to that floor. The change to the sum is below
:math:`M e^{-70} < 10^{-24}` of it for any :math:`M \le 10^6`; it keeps every softmax weight
above :math:`e^{-70}/M`, a normal float32, because exponentials that underflow to subnormals or
zero are slow on x86 CPUs (measured here: ``torch.exp`` 40 times slower, ``torch.logsumexp``
forward and backward 10 times; at the official code's slope -3 nats it made a training step
2-3 times as slow as at -1)."""


def logsumexp_rows(a):
    r"""Row-wise :math:`\log \sum_j e^{a_{ij}}` of a 2-d tensor, differentiable, with the
    terms below ``max - LSE_FLOOR_NATS`` raised to that floor (see :data:`LSE_FLOOR_NATS`).

    The forward pass is one softmax of the shifted, floored rows; the result is
    :math:`\max_j a_{ij} - \log p_{ij^*}` at the row's argmax :math:`j^*` (where
    :math:`p_{ij^*} \ge 1/M`, so the logarithm is well conditioned), and the backward pass is
    the saved softmax times the incoming gradient.
    """
    return _lse_function().apply(a)


@functools.cache
def _lse_function():
    """The autograd function, built on first use so importing this module needs no torch."""
    import torch

    class LogSumExpRows(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):  # type: ignore[override]
            top = a.amax(1, keepdim=True)
            p = torch.softmax((a - top).clamp_min_(-LSE_FLOOR_NATS), 1)
            ctx.save_for_backward(p)
            return top.squeeze(1) - torch.log(p.amax(1))

        @staticmethod
        def backward(ctx, grad):  # type: ignore[override]
            (p,) = ctx.saved_tensors
            return grad.unsqueeze(1) * p

    return LogSumExpRows


def _lr_at(cfg: NERDConfig, step: int) -> float:
    frac = min(1.0, step / max(1, cfg.steps))
    return cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1.0 + math.cos(math.pi * frac))


@dataclass
class TrainState:
    """Mutable state of a training run (what a checkpoint holds besides the weights)."""

    step: int = 0
    beta_nats: float | None = None
    history: list[dict[str, float]] = field(default_factory=list)


def train_generator(
    generator: Any,
    x_train: object,
    *,
    seed: int,
    config: NERDConfig,
    target_distortion: float | None = None,
    slope: float | None = None,
    distortion: str = "squared_error",
    device: str = "cpu",
    state: TrainState | None = None,
    optimizer_state: dict[str, Any] | None = None,
    on_checkpoint: Callable[[TrainState, dict[str, Any]], None] | None = None,
    progress: bool = False,
    desc: str = "nerd",
) -> TrainState:
    r"""Train :math:`G_\theta` by Algorithm 1 (constrained) or at a fixed slope (Lagrangian).

    Step t draws B source rows (seeded by ``(seed, t)``) and ``generator_batch`` latent
    vectors, computes the distortion matrix, and

    - constrained: solves eq. (8) for :math:`\tilde\beta^*` on the detached matrix in float64
      (:func:`solve_beta`, warm-started from step t-1 within this run) and descends
      :math:`-\frac1B\sum_i\log\frac1M\sum_j e^{\tilde\beta^* d_{ij}}` (by the envelope theorem
      its gradient is that of the rate function). A batch on which D is infeasible
      (:math:`D \le \frac1B\sum_i\min_j d_{ij}`) descends :math:`\frac1B\sum_i\min_j d_{ij}`
      instead, which moves the nearest outputs towards the data until D is reachable;
    - Lagrangian: the same loss at the fixed :math:`\tilde\beta = \text{slope}\cdot\ln 2`.

    Adam with a cosine learning-rate decay. Every step's randomness is derived from
    ``(seed, step)``, so a run resumed from a checkpoint continues exactly.

    Returns
    -------
    TrainState
        Final step, last :math:`\tilde\beta`, and the history (step, in-batch rate in bits,
        in-batch distortion, beta in nats).
    """
    import torch

    if (target_distortion is None) == (slope is None):
        raise ValueError("give exactly one of target_distortion or slope")
    device = check_device(device)
    dist = pairwise_distortion(distortion)
    x = _samples_tensor("x_train", x_train, torch.float32, device)
    if tuple(x.shape[1:]) != tuple(generator.output_shape):
        raise ValueError(
            f"training samples have shape {tuple(x.shape[1:])} but the generator makes "
            f"{tuple(generator.output_shape)}"
        )
    state = state or TrainState()
    opt = torch.optim.Adam(generator.parameters(), lr=config.lr)
    if optimizer_state:
        load_optimizer_tensors(opt, optimizer_state)
    beta_fixed = None if slope is None else check_real("slope", slope) * LN2
    bf16, device_type = config.train_precision == "bfloat16", torch.device(device).type
    n = x.shape[0]
    m = config.generator_batch
    log_m = math.log(m)
    generator.train()
    from tqdm.auto import tqdm

    bar = tqdm(total=config.steps, initial=state.step, desc=desc, disable=not progress, leave=False)
    rate_b = dist_b = math.nan
    try:
        while state.step < config.steps:
            t = state.step
            rng = np.random.default_rng([seed, t])
            idx = torch.as_tensor(rng.integers(0, n, size=config.batch_size), device=device)
            g = torch.Generator(device=device)
            g.manual_seed(chunk_seed(seed, t))
            z = torch.randn(m, generator.latent_dim, generator=g, device=device)
            with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
                y = generator(z).float()  # float32 already when autocast is off
            d = dist(x[idx], y)
            logging = (t + 1) % config.log_every == 0 or t + 1 == config.steps
            if beta_fixed is not None:
                beta = beta_fixed
                feasible = True
            else:
                sol = solve_beta(
                    d.detach().double(), target_distortion, beta_init=state.beta_nats, rtol=1e-8
                )
                beta, feasible = sol.beta_nats, sol.feasible
            if feasible:
                lse = logsumexp_rows(beta * d) - log_m
                loss = -lse.mean()
                if logging:
                    with torch.no_grad():
                        _, mean64, _ = _tilted_rows(d.detach().double(), beta)
                        dist_b = float(mean64.mean())
                        d_ref = dist_b if beta_fixed is not None else target_distortion
                        rate_b = (beta * d_ref + float(loss)) / LN2
                state.beta_nats = beta if beta < 0 else state.beta_nats
            else:
                loss = d.min(dim=1).values.mean()
                rate_b, dist_b = math.inf, float(loss.detach())
            for group in opt.param_groups:
                group["lr"] = _lr_at(config, t)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            state.step = t + 1
            if logging:
                state.history.append(
                    {
                        "step": state.step,
                        "rate_bits": rate_b,
                        "distortion": dist_b,
                        "beta_nats": beta,
                    }
                )
                bar.set_postfix(rate_bits=f"{rate_b:.3f}", D=f"{dist_b:.4g}", refresh=False)
            bar.update(1)
            if on_checkpoint is not None and (
                state.step % config.checkpoint_every == 0 or state.step == config.steps
            ):
                on_checkpoint(state, optimizer_tensors(opt))
    finally:
        bar.close()
    return state


@dataclass(frozen=True)
class NERDResult:
    """A NERD point: the held-out estimate plus what produced it.

    Attributes
    ----------
    estimate : NERDEstimate
        The final estimate (rate, distortion, standard errors, ceiling).
    source : str
        The source's name.
    distortion_measure : str
        ``"squared_error"`` or ``"sq-lP"``.
    d_max : float
        The zero-rate distortion :math:`D_{max}` (closed form for Gaussian sources under
        ``"squared_error"``, else the empirical :math:`E\\,d(X, \\bar X)`, an upper bound).
    d_max_empirical : float
        :math:`\\frac1n\\sum_i d(x_i, \\bar x)` on the held-out samples.
    closed_form_rate_bits : float or None
        :math:`R(\\hat D)` in closed form where known (Gaussian, ``"squared_error"``).
    steps : int
        Training steps.
    train_seconds, eval_seconds : float
        Wall times.
    architecture : dict
        The generator's architecture.
    history : tuple of dict
        The training history.
    """

    estimate: NERDEstimate
    source: str
    distortion_measure: str
    d_max: float
    d_max_empirical: float
    closed_form_rate_bits: float | None
    steps: int
    train_seconds: float
    eval_seconds: float
    architecture: dict[str, Any]
    history: tuple[dict[str, float], ...] = ()

    @property
    def rate_bits(self) -> float:
        return self.estimate.rate_bits

    @property
    def distortion(self) -> float:
        return self.estimate.distortion

    @property
    def rate_stderr_bits(self) -> float:
        return self.estimate.rate_stderr_bits

    @property
    def excess_rate_bits(self) -> float | None:
        """:math:`\\hat R - R(\\hat D)`, bits, against the closed form where it is known."""
        if self.closed_form_rate_bits is None:
            return None
        return self.rate_bits - self.closed_form_rate_bits

    @property
    def point(self) -> RDPoint:
        return RDPoint(
            rate_bits=self.rate_bits,
            distortion=self.distortion,
            slope=self.estimate.slope,
            iterations=self.steps,
            converged=self.estimate.converged,
            method="nerd",
        )

    def point_dict(self) -> dict[str, Any]:
        """The JSON point: ``rate_bits``, ``distortion``, ``rate_stderr_bits`` and the rest."""
        out = self.point.to_dict()
        out.update(
            rate_stderr_bits=self.rate_stderr_bits,
            distortion_stderr=self.estimate.distortion_stderr,
            beta_nats=self.estimate.beta_nats,
            mode=self.estimate.mode,
            tangent_stderr_bits=self.estimate.tangent_stderr_bits,
            ceiling_bits=self.estimate.ceiling_bits,
            near_ceiling=self.estimate.near_ceiling,
        )
        if self.estimate.target_distortion is not None:
            out["target_distortion"] = self.estimate.target_distortion
        if self.closed_form_rate_bits is not None:
            out["closed_form_rate_bits"] = self.closed_form_rate_bits
            out["excess_rate_bits"] = self.excess_rate_bits
            out["reference"] = "closed-form R(D)"
        return jsonable(out)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "point": self.point_dict(),
                "estimate": self.estimate.to_dict(),
                "source": self.source,
                "distortion_measure": self.distortion_measure,
                "d_max": self.d_max,
                "d_max_empirical": self.d_max_empirical,
                "closed_form_rate_bits": self.closed_form_rate_bits,
                "steps": self.steps,
                "train_seconds": self.train_seconds,
                "eval_seconds": self.eval_seconds,
                "architecture": self.architecture,
                "history": list(self.history),
            }
        )


def resolve_source(source: object) -> tuple[Any, str]:
    """``(source, name)`` of a registered source name or a source object."""
    import rdlab.sources.nerd_sources  # noqa: F401 - registers the NERD sources
    from rdlab.sources.base import Source
    from rdlab.sources.registry import make_source

    if isinstance(source, str):
        return make_source(source), source
    if isinstance(source, Source):
        return source, getattr(source, "name", type(source).__name__)
    raise TypeError(f"source must be a registered name or a Source, got {type(source).__name__}")


def _finite_data(source: Any) -> np.ndarray | None:
    data = getattr(source, "data", None)
    if data is None and type(source).__name__ == "EmpiricalSource":
        data = source.samples
    return data


def _split(n: int, config: NERDConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from rdlab.sources.user_data import split_indices

    if n < 2:
        raise ValueError(f"the source holds {n} sample(s); NERD needs at least 2")
    held, train = split_indices(n, max(1, min(config.n_eval, n // 6)), seed)
    return held, train[: config.n_train]


def split_samples(source: Any, config: NERDConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and held-out samples of a source.

    ``config`` is any settings object with ``n_train`` and ``n_eval`` (:class:`NERDConfig`,
    :class:`rdlab.models.ntc.NTCConfig`).

    A source with a finite data set (``source.data``, e.g. image sets, a user's data
    (:class:`~rdlab.sources.user_data.DataSource`) and
    :class:`~rdlab.sources.base.EmpiricalSource`) is split by
    :func:`~rdlab.sources.user_data.split_indices` with ``seed``: ``n_eval`` rows (at most a
    sixth of the set) are held out and at most ``n_train`` of the rest are used for training
    (:func:`split_record` says which). Other sources are sampled twice with independent seeds.
    """
    data = _finite_data(source)
    if data is not None:
        eval_idx, train_idx = _split(data.shape[0], config, seed)
        conv = getattr(source, "as_float", None)
        x_tr = conv(data[train_idx]) if conv else np.asarray(data[train_idx], dtype=np.float32)
        x_ev = conv(data[eval_idx]) if conv else np.asarray(data[eval_idx], dtype=np.float64)
        return x_tr, x_ev
    ss = np.random.SeedSequence([seed, 11])
    s_train, s_eval = ss.spawn(2)
    x_tr = np.asarray(source.sample(config.n_train, np.random.default_rng(s_train)))
    x_ev = np.asarray(source.sample(config.n_eval, np.random.default_rng(s_eval)))
    if x_tr.ndim == 1:
        x_tr, x_ev = x_tr[:, None], x_ev[:, None]
    for name, arr in (("training samples", x_tr), ("held-out samples", x_ev)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"the source produced non-finite {name} (NaN or inf)")
    return x_tr, x_ev


def split_record(source: Any, config: NERDConfig, seed: int) -> dict[str, Any]:
    """How :func:`split_samples` split the source, as a run records it.

    For a finite data set: the seed, the number of rows, of held-out and of training rows,
    and the SHA-256 of the held-out row indices (int64, little-endian) so that the split can be
    checked; for a distribution, the numbers of fresh samples drawn.
    """
    data = _finite_data(source)
    if data is None:
        return {"split_kind": "fresh samples", "n_train": config.n_train, "n_eval": config.n_eval}
    held, train = _split(data.shape[0], config, seed)
    digest = hashlib.sha256(np.asarray(held, dtype="<i8").tobytes()).hexdigest()
    return {
        "split_kind": "held-out rows",
        "split_seed": seed,
        "n_total": int(data.shape[0]),
        "n_eval": int(held.size),
        "n_train": int(train.size),
        "heldout_sha256": digest,
    }


def zero_rate_distortion(x: object, distortion: str = "squared_error") -> float:
    r"""The empirical :math:`\frac1n\sum_i d(x_i, \bar x)` (:math:`D_{max}` under squared error,
    an upper bound on it otherwise).

    Examples
    --------
    >>> zero_rate_distortion([[1.0, 0.0], [-1.0, 0.0]])
    1.0
    """
    import torch

    xt = _samples_tensor("x", x, torch.float64, "cpu")
    mu = xt.mean(0, keepdim=True)
    return float(pairwise_distortion(distortion)(xt, mu).mean())


def _closed_form(source: Any, distortion: str, d_hat: float) -> tuple[float | None, float | None]:
    from rdlab.sources.base import GaussianSource

    if isinstance(source, GaussianSource) and distortion in ("squared_error", "sq-l2"):
        from rdlab.theory.gaussian import vector_gaussian_rate_distortion

        r = None if d_hat <= 0 else float(vector_gaussian_rate_distortion(d_hat, source))
        return source.total_variance, r
    return None, None


def nerd_point(
    source: object,
    *,
    seed: int,
    target_distortion: float | None = None,
    slope: float | None = None,
    distortion: str = "squared_error",
    config: NERDConfig | str = "default",
    device: str = "cpu",
    run_dir: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    eval_dtype: str = "float64",
    source_name: str | None = None,
) -> NERDResult:
    r"""Estimate one point of R(D) with NERD: train a generator, then estimate on held-out data.

    Parameters
    ----------
    source : str or Source
        A registered source name (``"gaussian20"``, ``"digits"``, ...) or a source object.
    seed : int
        The only randomness: data split, initial weights, batches, evaluation samples. A point
        depends on its own settings and seed only, never on other points of a sweep.
    target_distortion : float
        Constrained mode (Algorithm 1): :math:`0 < D < D_{max}`.
    slope : float
        Lagrangian mode: dR/dD < 0 in bits per unit distortion (the paper's multiplier is
        ``slope * ln 2`` nats).
    distortion : str
        ``"squared_error"`` (squared error summed over the sample) or ``"sq-lP"``.
    config : NERDConfig or str
        Settings or a preset name from :data:`NERD_PRESETS`.
    device : str
        ``"cpu"`` or ``"cuda"``.
    run_dir : path, optional
        Write ``config.json``, ``results.json``, safetensors checkpoints and plots there
        (:class:`rdlab.core.rundir.RunDir`); an existing run is refused unless ``resume``
        (continue from its last checkpoint) or ``overwrite``.
    resume, overwrite : bool
        See ``run_dir``.
    progress : bool
        Show a progress bar with the current in-batch rate and distortion.
    eval_dtype : str
        Arithmetic of the final estimate.
    source_name : str, optional
        The name recorded for a source given as an object (e.g. its registry name).

    Returns
    -------
    NERDResult
    """
    import torch

    from rdlab.core.rundir import RunDir
    from rdlab.estimators.generators import make_generator

    cfg = NERD_PRESETS[config] if isinstance(config, str) and config in NERD_PRESETS else config
    if not isinstance(cfg, NERDConfig):
        raise ValueError(
            f"config must be a NERDConfig or one of {sorted(NERD_PRESETS)}, got {config!r}"
        )
    seed = check_int("seed", seed, minimum=0)
    distortion = check_distortion_name(distortion)
    device = check_device(device)
    if (target_distortion is None) == (slope is None):
        raise ValueError(
            "give exactly one of target_distortion (constrained) or slope (Lagrangian)"
        )
    if slope is not None:
        slope = check_real("slope", slope)
        if slope >= 0:
            raise ValueError(
                f"slope must be < 0 (dR/dD in bits per unit distortion), got {slope}; "
                "the paper's multiplier beta = slope * ln 2 must be negative"
            )
    src, name = resolve_source(source)
    name = source_name or name
    x_tr, x_ev = split_samples(src, cfg, seed)
    d_max_emp = zero_rate_distortion(x_ev, distortion)
    d_max_cf, _ = _closed_form(src, distortion, 1.0)
    d_max = d_max_cf if d_max_cf is not None else zero_rate_distortion(x_tr, distortion)
    if target_distortion is not None:
        target_distortion = check_real("target_distortion", target_distortion)
        if not 0 < target_distortion < d_max:
            raise ValueError(
                f"target_distortion must be in (D_min, D_max) = (0, {d_max:.6g}) for source "
                f"{name!r} under {distortion!r}, got {target_distortion}"
            )
    shape = tuple(x_tr.shape[1:])
    gen_name = cfg.generator or ("dcgan" if len(shape) == 3 else "mlp")
    params = dict(cfg.generator_params)
    if gen_name == "dcgan" and "layers" not in params and len(shape) == 3:
        # the most upsampling layers (at most the paper's 4) that the image size allows
        params["layers"] = max(
            [k for k in range(1, 5) if shape[1] % 2**k == 0 and shape[2] % 2**k == 0] or [1]
        )
    torch.manual_seed(chunk_seed(seed, 10**9))
    generator = make_generator(gen_name, shape, cfg.latent_dim, **params)
    if hasattr(generator, "init_output_mean"):
        # images in [0, 1] behind a sigmoid: start at the training data's mean brightness
        axes = (0, *range(2, x_tr.ndim))
        generator.init_output_mean(np.mean(x_tr, axis=axes, dtype=np.float64))
    generator = generator.to(device)
    run_config = {
        "estimator": "nerd",
        "source": name,
        "source_description": getattr(src, "describe", dict)(),
        "mode": "constrained" if target_distortion is not None else "lagrangian",
        "target_distortion": target_distortion,
        "slope": slope,
        "beta_nats": None if slope is None else slope * LN2,
        "distortion_measure": distortion,
        "seed": seed,
        "split": split_record(src, cfg, seed),
        "config": cfg.to_dict(),
        "architecture": generator.architecture,
        "eval_dtype": eval_dtype,
    }
    state = TrainState()
    opt_state = None
    rd = None
    if run_dir is not None:
        rd = RunDir(run_dir)
        resumed = rd.open(run_config, resume=resume, overwrite=overwrite)
        if resumed and rd.has_checkpoint("generator"):
            tensors, meta = rd.load_checkpoint(
                "generator", architecture=generator.architecture, required=("step",)
            )
            weights = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
            try:
                generator.load_state_dict(weights, strict=True)
            except RuntimeError as exc:
                raise ValueError(
                    f"checkpoint in {rd.path} does not fit the generator: {exc}"
                ) from None
            opt_state = {k: v for k, v in tensors.items() if k.startswith("optim.")}
            state = TrainState(
                step=int(meta["step"]),
                beta_nats=None
                if meta.get("beta_nats") in (None, "None")
                else float(meta["beta_nats"]),
                history=list(meta.get("history", [])),
            )

    def save(st: TrainState, optim: dict[str, Any]) -> None:
        tensors = {f"model.{k}": v for k, v in generator.state_dict().items()}
        tensors.update(optim)
        meta = {"step": st.step, "beta_nats": st.beta_nats, "history": st.history}
        rd.save_checkpoint("generator", tensors, meta, architecture=generator.architecture)

    label = f"nerd {name} " + (f"D={target_distortion:g}" if slope is None else f"slope={slope:g}")
    t0 = time.perf_counter()
    state = train_generator(
        generator,
        x_tr,
        seed=seed,
        config=cfg,
        target_distortion=target_distortion,
        slope=slope,
        distortion=distortion,
        device=device,
        state=state,
        optimizer_state=opt_state,
        on_checkpoint=save if rd is not None else None,
        progress=progress,
        desc=label,
    )
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    est = estimate_rate(
        TorchSampler(generator, device),
        x_ev,
        seed=chunk_seed(seed, 2 * 10**9),
        target_distortion=target_distortion,
        slope=slope,
        distortion=distortion,
        n_samples=cfg.eval_samples,
        chunk_size=cfg.eval_chunk,
        beta_init=state.beta_nats,
        device=device,
        dtype=eval_dtype,
    )
    eval_s = time.perf_counter() - t1
    _, r_cf = _closed_form(src, distortion, est.distortion)
    result = NERDResult(
        estimate=est,
        source=name,
        distortion_measure=distortion,
        d_max=float(d_max),
        d_max_empirical=d_max_emp,
        closed_form_rate_bits=r_cf,
        steps=state.step,
        train_seconds=train_s,
        eval_seconds=eval_s,
        architecture=generator.architecture,
        history=tuple(state.history),
    )
    if rd is not None:
        rd.write_results(result.to_dict())
        plot_history(result, rd.figure_path("training.png"))
        if len(shape) == 3:
            save_sample_grid(generator, rd.figure_path("samples.png"), seed=seed, device=device)
    return result


def nerd_curve(
    source: object,
    *,
    seed: int,
    distortions: Sequence[float] | None = None,
    slopes: Sequence[float] | None = None,
    run_dir: str | Path | None = None,
    **kwargs: Any,
) -> tuple[list[NERDResult], RDCurve]:
    """A sweep of independent :func:`nerd_point` runs over distortions or slopes.

    Every point is trained from scratch with the same ``seed`` (no warm start), so a point's
    result does not depend on the order or the other values of the sweep. With ``run_dir``
    point k goes to ``run_dir/point-KK``.
    """
    if (distortions is None) == (slopes is None):
        raise ValueError("give exactly one of distortions or slopes")
    values = list(distortions if distortions is not None else slopes)  # type: ignore[arg-type]
    if not values:
        raise ValueError("the sweep needs at least one value")
    key = "target_distortion" if distortions is not None else "slope"
    results = []
    for k, v in enumerate(values):
        sub = None if run_dir is None else Path(run_dir) / f"point-{k:02d}"
        results.append(nerd_point(source, seed=seed, run_dir=sub, **{key: v}, **kwargs))
    curve = RDCurve(
        tuple(r.point for r in results),
        label=f"NERD, {results[0].source}",
        meta={"rate_stderr_bits": [r.rate_stderr_bits for r in results]},
    )
    return results, curve


def nerd_quick_point(
    source: object = "gaussian20",
    *,
    slope: float = -1.0 / LN2,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = False,
) -> NERDResult:
    """A quick NERD point (Lagrangian, ``quick`` preset; well under 2 minutes on 2 CPU cores).

    The default slope -1/ln 2 bits per unit squared error is the official code's
    :math:`\\lambda = -1` (nats); on ``gaussian20`` its closed-form rate is about 3.9 bits.
    """
    return nerd_point(
        source, seed=seed, slope=slope, config="quick", device=device, progress=progress
    )


# --------------------------------------------------------------------------------------------
# plots
# --------------------------------------------------------------------------------------------


def plot_history(result: NERDResult, path: str | Path) -> None:
    """Plot the in-batch rate and distortion along training to ``path`` (PNG, atomic)."""
    from rdlab.core.io import headless_pyplot

    plt = headless_pyplot()

    from rdlab.core.io import write_figure

    h = result.history
    if not h:
        return
    steps = [e["step"] for e in h]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
    a1.plot(steps, [e["rate_bits"] for e in h])
    a1.axhline(result.rate_bits, color="k", ls="--", lw=0.8, label="held-out estimate")
    if result.closed_form_rate_bits is not None:
        a1.axhline(result.closed_form_rate_bits, color="r", ls=":", label="closed form R(D̂)")
    a1.set_xlabel("step")
    a1.set_ylabel("in-batch rate [bits]")
    a1.legend(fontsize=8)
    a2.plot(steps, [e["distortion"] for e in h])
    a2.set_xlabel("step")
    a2.set_ylabel("in-batch distortion")
    for a in (a1, a2):
        a.grid(alpha=0.3)
    write_figure(fig, path, dpi=110)


def save_sample_grid(
    generator: Any, path: str | Path, *, seed: int, n: int = 64, device: str = "cpu"
) -> None:
    """Write ``n`` samples of :math:`Q_Y = G_{\\theta*} N(0, I)` as an image grid (Fig. 4/5)."""
    from rdlab.core.io import save_image_grid

    y = TorchSampler(generator, device)(n, chunk_seed(seed, 3 * 10**9)).cpu().numpy()
    if y.ndim != 4:
        raise ValueError(f"a sample grid needs images (n, C, H, W), got shape {y.shape}")
    save_image_grid(y, path)


__all__ = [
    "DEFAULT_EVAL_SAMPLES",
    "NERD_PRESETS",
    "BetaSolution",
    "NERDCeilingWarning",
    "NERDConfig",
    "NERDEstimate",
    "NERDInfeasibleWarning",
    "NERDResult",
    "TorchSampler",
    "TrainState",
    "check_distortion_name",
    "estimate_rate",
    "nerd_curve",
    "nerd_point",
    "nerd_quick_point",
    "pairwise_distortion",
    "plot_history",
    "rate_function_bits",
    "resolve_source",
    "save_sample_grid",
    "solve_beta",
    "split_record",
    "split_samples",
    "tilted_distortion",
    "train_generator",
    "zero_rate_distortion",
]
