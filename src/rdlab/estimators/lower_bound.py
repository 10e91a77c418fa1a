r"""A lower bound on R(D) from samples: the dual bound with a learned :math:`\log u` network.

Csiszár's dual form of R(D) (Csiszár 1974; Yang & Mandt 2022, eq. (4)): for every
:math:`\lambda \ge 0` (nats per unit of distortion) and every positive function :math:`u`,

.. math:: R(D) \ \ge\ E_X[-\log u(X)] - \log c(u) - \lambda D, \qquad
          c(u) = \sup_y E_X\big[e^{-\lambda d(X, y)} / u(X)\big],

a line of slope :math:`-\lambda` under the curve, tight at the point where the curve's slope is
:math:`-\lambda` for the best :math:`u`. Proof in one line: for any channel with
:math:`E\,d(X, Y) \le D`, the Donsker-Varadhan bound with the test function
:math:`-\lambda d(x, y) - \log u(x) - \log c` gives :math:`I(X; Y) \ge -\lambda D - E\log u(X)
- \log c - \log E_{P_X \times P_Y}[e^{-\lambda d}/(c\,u)] \ge \ldots - \log 1`.

**From samples.** With :math:`k` i.i.d. samples,
:math:`C_k = \sup_y \frac1k \sum_i e^{-\lambda d(X_i, y)} / u(X_i)` has
:math:`E[C_k] \ge c(u)` (a mean of suprema is at least the supremum of the mean), and
:math:`\log z \le z/\alpha + \log\alpha - 1` for any :math:`\alpha > 0`, so

.. math:: R(D) \ \ge\ E\Big[-\log u(X) - \frac{C_k}{\alpha} - \log\alpha + 1\Big] - \lambda D,

an expectation of per-batch quantities :math:`\xi_b` with an unbiased sample mean and a standard
error over independent held-out batches (:func:`rd_lower_bound`; :math:`u` and :math:`\alpha`
are fitted on training samples only). The intercept is reported in bits with its standard error
and a lower confidence limit (estimate minus 2 standard errors).

**The supremum over y** is the one step that can make the bound invalid: a local maximum
underestimates :math:`C_k`. For squared error, :math:`y \mapsto \sum_i w_i e^{-\lambda \|x_i -
y\|^2}` is an unnormalised Gaussian mixture, and the fixed-point iteration
:math:`y \leftarrow \sum_i a_i(y) x_i / \sum_i a_i(y)`, :math:`a_i = w_i e^{-\lambda\|x_i -
y\|^2}` (mean shift) increases it at every step; rdlab runs it from every sample of the batch
and from their weighted mean (``k + 1`` restarts, reported) and keeps the best.

**Where it cannot be tight.** :math:`C_k \ge \max_i 1/(k\,u(X_i))` (take :math:`y = X_i`), so
the intercept cannot exceed about :math:`\log k` nats: with ``k`` samples per batch no rate far
above :math:`\log_2 k` bits can be certified (Lei et al. §III-A and §IV-D; McAllester &
Stratos 2020). This is a property of every sample-based lower bound, not of the estimator.

References
----------
I. Csiszár, "On an extremum problem of information theory", Studia Sci. Math. Hungar., 1974.
Y. Yang, S. Mandt, "Towards Empirical Sandwich Bounds on the Rate-Distortion Function",
ICLR 2022. E. Lei, H. Hassani, S. Saeedi Bidokhti, IEEE JSAIT 2022, §IV-D and Fig. 6.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rdlab.core.information import LN2
from rdlab.core.results import jsonable
from rdlab.core.torch_state import check_device, step_seed
from rdlab.core.validation import check_int, check_positive

FULL_QUADRATIC_MAX_DIM = 256
"""Up to this dimension the quadratic term of log u is a full matrix, above it diagonal."""

SMALL_SET_BATCHES = 4
"""A set too small for the configured held-out batches is cut into at most this many: fewer,
larger batches (a larger k lowers the supremum's bias more than more batches help)."""

MIN_BATCH = 16
"""The smallest batch a finite data set may force (it bounds the certifiable rate by log2 k)."""

CONFIDENCE_Z = 2.0
"""The lower confidence limit is the estimate minus this many standard errors."""


@dataclass(frozen=True)
class LowerBoundConfig:
    """Settings of :func:`rd_lower_bound`.

    Attributes
    ----------
    steps : int
        Gradient steps fitting :math:`\\log u`.
    batch_size : int
        k, samples per batch (training and held-out): the bound cannot certify much more
        than :math:`\\log_2 k` bits.
    lr : float
        Adam learning rate at the start (cosine decay to 5 % of it).
    width, depth : int
        The MLP of :math:`\\log u` (SELU), plus a learned quadratic term.
    n_train : int
        Training samples (a finite data set: at most what its split leaves).
    n_eval_batches : int
        Independent held-out batches of k samples for the estimate and its standard error.
    mean_shift_iters : int
        Fixed-point iterations of the inner supremum over y.
    train_restarts : int
        Restarts of the inner supremum in a training step (the best samples); the held-out
        estimate always restarts from every sample.
    alpha_decay : float
        Weight of the old value in the running estimate of :math:`\\alpha \\approx E[C_k]`.
    eval_batch_size : int, optional
        k of the held-out batches (default ``batch_size``): the bound holds for any k, and a
        larger k lowers the upward bias of the estimated supremum.
    """

    steps: int = 1500
    batch_size: int = 512
    lr: float = 3e-3
    width: int = 64
    depth: int = 2
    n_train: int = 20_000
    n_eval_batches: int = 40
    mean_shift_iters: int = 60
    train_restarts: int = 8
    alpha_decay: float = 0.9
    eval_batch_size: int | None = None

    def __post_init__(self) -> None:
        check_int("steps", self.steps, minimum=1)
        check_int("batch_size", self.batch_size, minimum=2, maximum=1 << 14)
        check_positive("lr", self.lr)
        check_int("width", self.width, minimum=1, maximum=4096)
        check_int("depth", self.depth, minimum=0, maximum=16)
        check_int("n_train", self.n_train, minimum=2)
        check_int("n_eval_batches", self.n_eval_batches, minimum=2)
        check_int("mean_shift_iters", self.mean_shift_iters, minimum=1)
        check_int("train_restarts", self.train_restarts, minimum=1)
        if self.eval_batch_size is not None:
            check_int("eval_batch_size", self.eval_batch_size, minimum=2, maximum=1 << 16)
        if not 0 <= self.alpha_decay < 1:
            raise ValueError(f"alpha_decay must be in [0, 1), got {self.alpha_decay}")

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


LOWER_BOUND_PRESETS = {
    "quick": LowerBoundConfig(
        steps=400, batch_size=256, n_train=8000, n_eval_batches=10, eval_batch_size=1024
    ),
    "default": LowerBoundConfig(
        steps=4000, batch_size=1024, n_eval_batches=10, eval_batch_size=4096
    ),
}
"""``quick``: seconds on a low-dimensional source; ``default``: about 100 s on 2 cores for
m <= 8 (train k = 1024, held-out k = 4096)."""


@dataclass(frozen=True)
class LowerBound:
    """A line under R(D) from samples: :math:`R(D) \\ge` ``intercept_bits + slope * D``.

    Attributes
    ----------
    slope : float
        :math:`-\\lambda / \\ln 2` in bits per unit of distortion (<= 0): the slope of the line.
    intercept_bits, intercept_stderr_bits : float
        The estimated intercept (an unbiased estimate of a valid lower bound's intercept) and
        its standard error over the held-out batches.
    train_intercept_bits : float
        The plug-in intercept on the last tenth of the training batches: what
        :func:`best_lower_bound` chooses a slope by, so the held-out estimate is not selected on.
    alpha : float
        The :math:`\\alpha` of the linearisation, fitted on training samples.
    n_eval, batch_size, restarts : int
        Held-out samples, samples per batch, restarts of the inner supremum per batch.
    distortion_measure : str
    train_seconds, eval_seconds : float
    """

    slope: float
    intercept_bits: float
    intercept_stderr_bits: float
    train_intercept_bits: float
    alpha: float
    n_eval: int
    batch_size: int
    restarts: int
    distortion_measure: str
    train_seconds: float
    eval_seconds: float

    def rate_lower_bits(self, distortion: float) -> float:
        """The estimated lower bound on R(D) at ``distortion`` (never below 0), bits."""
        return max(0.0, self.intercept_bits + self.slope * float(distortion))

    def rate_lower_confidence_bits(self, distortion: float) -> float:
        """The same minus 2 standard errors: below R(D) with about 97.7 % confidence."""
        value = self.intercept_bits - CONFIDENCE_Z * self.intercept_stderr_bits
        return max(0.0, value + self.slope * float(distortion))

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


def _log_u_network(dim: int, cfg: LowerBoundConfig):
    import torch
    from torch import nn

    full = dim <= FULL_QUADRATIC_MAX_DIM

    class LogU(nn.Module):
        """log u(x) = MLP(x) - ||A (x - c)||^2 / 2 (A full up to 256 dimensions, else
        diagonal): the optimal u of a Gaussian source is a quadratic."""

        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = []
            width_in = dim
            for _ in range(cfg.depth):
                layers += [nn.Linear(width_in, cfg.width), nn.SELU()]
                width_in = cfg.width
            layers.append(nn.Linear(width_in, 1))
            self.mlp = nn.Sequential(*layers)
            self.quad = nn.Parameter(torch.zeros((dim, dim) if full else (dim,)))
            self.center = nn.Parameter(torch.zeros(dim))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            z = x - self.center
            z = z @ self.quad.T if full else z * self.quad
            return self.mlp(x).squeeze(-1) - 0.5 * (z * z).sum(-1)

    return LogU()


def log_sup_mixture(
    x: Any, log_w: Any, lam: float, iters: int, *, top: int | None = None, chunk: int = 256
) -> tuple[Any, Any, int]:
    r""":math:`\log \sup_y \frac1k \sum_i w_i e^{-\lambda\|x_i - y\|^2}` by mean shift.

    Starts from every :math:`x_i` and from the :math:`w`-weighted mean (k + 1 restarts), or,
    with ``top``, from the ``top`` samples where the objective is largest (a cheaper search for
    training steps); runs ``iters`` fixed-point steps (each increases the objective) and returns
    the best value, its maximiser and the number of restarts. ``x`` is ``(k, m)``, ``log_w``
    ``(k,)`` (torch, no gradients needed).
    """
    import torch

    k = x.shape[0]
    x2 = (x * x).sum(1)

    def log_terms(y: torch.Tensor) -> torch.Tensor:
        d = (y * y).sum(1, keepdim=True) + x2[None, :] - 2.0 * y @ x.T
        return log_w[None, :] - lam * d.clamp_min(0.0)

    if top is None:
        w = torch.softmax(log_w, 0)
        starts = torch.cat([x, (w[:, None] * x).sum(0, keepdim=True)], 0)
    else:
        at_samples = torch.cat(
            [torch.logsumexp(log_terms(x[a : a + chunk]), 1) for a in range(0, k, chunk)]
        )
        starts = x[torch.topk(at_samples, min(int(top), k)).indices]
    best_val, best_y = None, None
    for a in range(0, starts.shape[0], chunk):
        y = starts[a : a + chunk].clone()
        for _ in range(iters):
            y_next = torch.softmax(log_terms(y), 1) @ x
            moved = float((y_next - y).abs().max())
            y = y_next
            if moved <= 1e-9 * (1.0 + float(y.abs().max())):
                break
        vals = torch.logsumexp(log_terms(y), 1) - math.log(k)
        i = int(torch.argmax(vals))
        if best_val is None or vals[i] > best_val:
            best_val, best_y = vals[i], y[i]
    return best_val, best_y, int(starts.shape[0])


def rd_lower_bound(
    source: Any,
    *,
    slope: float,
    seed: int,
    config: LowerBoundConfig | None = None,
    samples: tuple[np.ndarray, np.ndarray] | None = None,
    device: str = "cpu",
    progress: bool = False,
) -> LowerBound:
    r"""Fit :math:`\log u` at multiplier :math:`\lambda = -\text{slope} \cdot \ln 2` and estimate
    the lower bound's intercept on held-out samples (module docstring; squared error summed over
    a sample).

    Parameters
    ----------
    source : Source
        Where the samples come from: a distribution (sampled with independent seeds for
        training and held-out batches) or a finite data set (split with
        :func:`rdlab.sources.user_data.split_indices`, ``n_eval_batches * eval_batch_size`` rows
        held out, at most half the set; a small set gets smaller batches, reported in the
        result's ``batch_size``).
    slope : float
        dR/dD of the line in bits per unit of distortion, < 0: choose the slope of R(D) at
        the distortion of interest (e.g. NERD's ``slope`` there).
    seed : int
        Seeds the split, the network's initialisation and the batches.
    config : LowerBoundConfig, optional
        Default :data:`LOWER_BOUND_PRESETS` ``["default"]``.
    samples : (ndarray, ndarray), optional
        Training and held-out samples to use instead of drawing them from ``source``.
    device : str
        Torch device.
    progress : bool
        Show a progress bar.

    Returns
    -------
    LowerBound

    References
    ----------
    Y. Yang, S. Mandt, ICLR 2022, eq. (4) and Sec. 3.2; I. Csiszár 1974.
    """
    import torch
    from tqdm.auto import tqdm

    cfg = config or LOWER_BOUND_PRESETS["default"]
    if not isinstance(cfg, LowerBoundConfig):
        raise TypeError(f"config must be a LowerBoundConfig, got {type(cfg).__name__}")
    s = float(slope)
    if not (math.isfinite(s) and s < 0):
        raise ValueError(f"slope must be < 0 (bits per unit distortion), got {slope}")
    seed = check_int("seed", seed, minimum=0)
    device = check_device(device)
    lam = -s * LN2
    k = cfg.batch_size
    k_eval = cfg.eval_batch_size or k
    n_eval = cfg.n_eval_batches * k_eval
    x_tr, x_ev = samples if samples is not None else _draw(source, cfg, n_eval, seed)
    x_tr = torch.as_tensor(np.asarray(x_tr, dtype=np.float64).reshape(len(x_tr), -1))
    x_ev = torch.as_tensor(np.asarray(x_ev, dtype=np.float64).reshape(len(x_ev), -1))
    if samples is None and getattr(source, "data", None) is not None:
        # a small finite data set: batches as large as its split allows (recorded below)
        k = min(k, int(x_tr.shape[0]))
        k_eval = min(k_eval, int(x_ev.shape[0]) // min(cfg.n_eval_batches, SMALL_SET_BATCHES))
    if k_eval < MIN_BATCH or x_ev.shape[0] < 2 * k_eval or x_tr.shape[0] < max(k, MIN_BATCH):
        raise ValueError(
            f"need at least {k} training and {2 * k_eval} held-out samples (batch sizes {k} "
            f"and {k_eval}, at least {MIN_BATCH}), got {x_tr.shape[0]} and {x_ev.shape[0]}"
        )
    dim = int(x_tr.shape[1])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(step_seed(seed, 31))
        net = _log_u_network(dim, cfg).double().to(device)
    with torch.no_grad():
        # start at u = 1 (zero quadratic): starting at the Gaussian optimum -x' S^-1 x / 2 gives
        # the held-out batches weights 1/u(x) so uneven that C_k's supremum is all noise
        net.center.copy_(x_tr.mean(0).to(device))
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    rng = np.random.default_rng([seed, 37])
    log_alpha = None
    restarts = 0
    tail: list[float] = []
    t0 = time.perf_counter()
    for step in tqdm(range(cfg.steps), disable=not progress, desc="lower bound", leave=False):
        for group in opt.param_groups:
            group["lr"] = cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / cfg.steps)))
        xb = x_tr[torch.as_tensor(rng.choice(x_tr.shape[0], k, replace=False))].to(device)
        f = net(xb)
        with torch.no_grad():
            _, y_star, _ = log_sup_mixture(
                xb, -f, lam, cfg.mean_shift_iters, top=cfg.train_restarts
            )
        d = ((xb - y_star) ** 2).sum(1)
        log_c = torch.logsumexp(-f - lam * d, 0) - math.log(k)
        value = float(log_c.detach())
        if step >= cfg.steps - max(1, cfg.steps // 10):
            tail.append(float(-f.detach().mean()) - value)
        log_alpha = (
            value
            if log_alpha is None
            else math.log(cfg.alpha_decay * math.exp(log_alpha - value) + (1 - cfg.alpha_decay))
            + value
        )
        # maximise E[-log u] - C_k / alpha (the linearised bound); C_k / alpha <= e^5 for stability
        loss = f.mean() + torch.exp((log_c - log_alpha).clamp(max=5.0))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    assert log_alpha is not None
    xi = []
    with torch.no_grad():
        order = torch.as_tensor(np.random.default_rng([seed, 41]).permutation(x_ev.shape[0]))
        for b in range(x_ev.shape[0] // k_eval):
            xb = x_ev[order[b * k_eval : (b + 1) * k_eval]].to(device)
            f = net(xb)
            log_c, _, restarts = log_sup_mixture(xb, -f, lam, cfg.mean_shift_iters)
            ratio = math.exp(float(log_c) - log_alpha)
            xi.append(float(-f.mean()) - ratio - log_alpha + 1.0)
    eval_s = time.perf_counter() - t1
    xi_arr = np.asarray(xi)
    return LowerBound(
        slope=s,
        intercept_bits=float(xi_arr.mean() / LN2),
        intercept_stderr_bits=float(xi_arr.std(ddof=1) / math.sqrt(xi_arr.size) / LN2),
        train_intercept_bits=float(np.mean(tail) / LN2),
        alpha=math.exp(log_alpha),
        n_eval=int(xi_arr.size * k_eval),
        batch_size=k_eval,
        restarts=restarts,
        distortion_measure="squared_error",
        train_seconds=train_s,
        eval_seconds=eval_s,
    )


def lower_bound_slopes(slopes: Sequence[float], *, shallow_factor: float = 0.25) -> list[float]:
    """Candidate slopes of sample lower bounds for R(D) at points of the given slopes.

    A geometric grid, with a factor of at most 2 between neighbours, from the steepest of
    ``slopes`` to ``shallow_factor`` times the shallowest (a sample bound's intercept is capped
    near log2 k, so at a high rate a line shallower than R(D)'s own slope often gives more). One
    slope s gives s, s/2, s/4; the lines serve every point (each is valid at every distortion).

    Parameters
    ----------
    slopes : sequence of float
        dR/dD < 0 at the points (bits per unit of distortion), e.g. NERD's.
    shallow_factor : float
        In (0, 1]: how much shallower than the shallowest slope the grid reaches.
    """
    values = [float(v) for v in slopes]
    if not values or not all(math.isfinite(v) and v < 0 for v in values):
        raise ValueError(f"slopes must be finite and < 0 (bits per unit distortion), got {slopes}")
    if not (0.0 < shallow_factor <= 1.0):
        raise ValueError(f"shallow_factor must lie in (0, 1], got {shallow_factor}")
    steep, shallow = min(values), max(values) * shallow_factor
    count = max(1, math.ceil(math.log2(steep / shallow) - 1e-12)) + 1
    return [steep * (shallow / steep) ** (i / (count - 1)) for i in range(count)]


def best_line(lines: Sequence[LowerBound], distortion: float) -> LowerBound:
    """The line that promises the most at ``distortion`` on its training batches.

    Every line is a valid lower bound at every distortion, so any of them may be reported; the
    choice uses each line's training-side intercept (``train_intercept_bits``) only, never the
    held-out estimates, so the reported estimate is not the largest of several noisy ones.
    """
    if not lines:
        raise ValueError("lines must hold at least one fitted lower bound")
    d = float(distortion)
    return max(lines, key=lambda lb: lb.train_intercept_bits + lb.slope * d)


def best_lower_bound(
    source: Any,
    distortion: float,
    *,
    slopes: Sequence[float],
    seed: int,
    config: LowerBoundConfig | None = None,
    device: str = "cpu",
    progress: bool = False,
) -> LowerBound:
    """The line, among those fitted at ``slopes``, that promises the most at ``distortion``
    (:func:`best_line`; candidate slopes from :func:`lower_bound_slopes`).

    Parameters
    ----------
    source, seed, config, device, progress
        As in :func:`rd_lower_bound` (every line uses the same split and seed).
    distortion : float
        Where the bound is wanted (squared error per sample).
    slopes : sequence of float
        Candidate slopes, each < 0 (bits per unit distortion).
    """
    if not slopes:
        raise ValueError("slopes must hold at least one slope")
    fitted = [
        rd_lower_bound(source, slope=s, seed=seed, config=config, device=device, progress=progress)
        for s in slopes
    ]
    return best_line(fitted, distortion)


def _draw(source: Any, cfg: LowerBoundConfig, n_eval: int, seed: int):
    data = getattr(source, "data", None)
    if data is not None:
        from rdlab.sources.user_data import split_indices

        n = data.shape[0]
        n_held = min(n_eval, n // 2)
        held, train = split_indices(n, max(1, n_held), seed)
        conv = getattr(source, "as_float", None)
        rows = (lambda idx: conv(data[idx])) if conv else (lambda idx: np.asarray(data[idx]))
        return rows(train[: cfg.n_train]), rows(held)
    ss = np.random.SeedSequence([seed, 43]).spawn(2)
    x_tr = np.asarray(source.sample(cfg.n_train, np.random.default_rng(ss[0])))
    x_ev = np.asarray(source.sample(n_eval, np.random.default_rng(ss[1])))
    return x_tr, x_ev


__all__ = [
    "LOWER_BOUND_PRESETS",
    "LowerBound",
    "LowerBoundConfig",
    "best_line",
    "best_lower_bound",
    "log_sup_mixture",
    "lower_bound_slopes",
    "rd_lower_bound",
]
