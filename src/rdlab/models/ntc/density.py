r"""The factorised non-parametric density of Ballé et al. (2018), appendix 6.1.

Each latent channel :math:`c` has a cumulative :math:`F_c(x) = \sigma(f_K \circ \dots \circ
f_1(x))` with :math:`f_k(x) = g_k(\mathrm{softplus}(H^{(k)}) x + b^{(k)})`, where
:math:`g_k(x) = x + \tanh(a^{(k)}) \odot \tanh(x)` for :math:`k < K` and the identity for
:math:`k = K`. Softplus keeps every matrix positive and :math:`|\tanh a| < 1` keeps every
:math:`g_k` increasing, so :math:`F_c` is increasing: a cumulative distribution function.

The density of the noisy latent :math:`\tilde y = y + u`, :math:`u \sim U(-\frac12, \frac12)`,
at :math:`v` and the probability of the integer :math:`k` after rounding are both
:math:`F_c(v + \frac12) - F_c(v - \frac12)` (eq. (6)-(7) of the paper), so one function serves
training (the rate term) and coding (the module's ``pmf_tables``).

References
----------
.. [1] J. Ballé, D. Minnen, S. Singh, S. J. Hwang, N. Johnston, "Variational image compression
   with a scale hyperprior", ICLR 2018, appendix 6.1.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rdlab.core.validation import check_int, check_positive

LIKELIHOOD_BOUND = 1e-9
"""Smallest likelihood used in the rate term (its gradient vanishes below)."""

TAIL_MASS = 1e-9
"""Probability left outside a channel's coding table on each side; it is folded into the end
symbols, so every integer the encoder sends after clamping has a probability."""

MAX_TABLE_LEVELS = 1 << 12
"""Largest coding table of one channel (integers)."""


def factorized_density(
    channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0
) -> Any:
    """A torch module: one factorised density per latent channel (``torch`` is imported only
    when one is built). ``filters`` are the widths of the hidden layers of each cumulative
    (the paper's (3, 3, 3)); ``init_scale`` the initial scale of the density.

    References
    ----------
    .. [1] Ballé et al., ICLR 2018, appendix 6.1.
    """
    import torch

    nn = torch.nn
    channels = check_int("channels", channels, minimum=1, maximum=1 << 16)
    filters = tuple(check_int("filters[i]", f, minimum=1, maximum=64) for f in filters)
    init_scale = check_positive("init_scale", init_scale)

    class _Density(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.channels = channels
            self.filters = filters
            dims = (1, *filters, 1)
            scale = init_scale ** (1.0 / (len(dims) - 1))
            self.matrices = nn.ParameterList()
            self.biases = nn.ParameterList()
            self.factors = nn.ParameterList()
            for k in range(len(dims) - 1):
                init = math.log(math.expm1(1.0 / scale / dims[k + 1]))
                self.matrices.append(
                    nn.Parameter(torch.full((channels, dims[k + 1], dims[k]), init))
                )
                self.biases.append(nn.Parameter(torch.rand(channels, dims[k + 1], 1) - 0.5))
                if k < len(dims) - 2:
                    self.factors.append(nn.Parameter(torch.zeros(channels, dims[k + 1], 1)))

        def logits_cumulative(self, v: Any) -> Any:
            """:math:`\\sigma^{-1}(F_c(v))` for ``v`` of shape ``(C, 1, N)``."""
            x = v
            last = len(self.matrices) - 1
            for k in range(len(self.matrices)):
                x = torch.matmul(nn.functional.softplus(self.matrices[k]), x) + self.biases[k]
                if k < last:
                    x = x + torch.tanh(self.factors[k]) * torch.tanh(x)
            return x

        def cdf(self, v: Any) -> Any:
            """:math:`F_c(v)` of ``v`` with shape ``(N, C)`` (channels last)."""
            return torch.sigmoid(self.logits_cumulative(v.t().unsqueeze(1))).squeeze(1).t()

        def likelihood(self, y: Any) -> Any:
            """:math:`F_c(y + \\frac12) - F_c(y - \\frac12)` of ``y`` with shape ``(N, C)``,
            computed on the side of the median where it does not cancel."""
            v = y.t().unsqueeze(1)
            lower = self.logits_cumulative(v - 0.5)
            upper = self.logits_cumulative(v + 0.5)
            sign = -torch.sign(lower + upper).detach()
            lik = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
            return lik.squeeze(1).t()

        def forward(self, y: Any) -> Any:
            """The likelihoods of ``y`` (:meth:`likelihood`)."""
            return self.likelihood(y)

        def bits(self, y: Any) -> Any:
            """:math:`-\\log_2` of the likelihoods (bounded below by
            :data:`LIKELIHOOD_BOUND`), shape ``(N, C)``."""
            return -torch.log2(self.likelihood(y).clamp_min(LIKELIHOOD_BOUND))

        def pmf_tables(self) -> tuple[np.ndarray, list[np.ndarray]]:
            """Coding tables: the first integer ``lo_c`` of each channel's table and its pmf over
            ``lo_c .. hi_c``, where :math:`F_c(lo_c - \\frac12)` and
            :math:`1 - F_c(hi_c + \\frac12)` are below :data:`TAIL_MASS`; the tails are folded
            into the end symbols. Float64 on the CPU, deterministic."""
            with torch.no_grad():
                dev = self.matrices[0].device
                self.to("cpu", torch.float64)
                try:
                    return self._tables()
                finally:
                    self.to(dev, torch.float32)

        def _tables(self) -> tuple[np.ndarray, list[np.ndarray]]:
            half = MAX_TABLE_LEVELS // 2
            grid = torch.arange(-half, half + 1, dtype=torch.float64)
            f = self.cdf(grid[:, None].expand(-1, self.channels) + 0.5).numpy()  # F(k + 1/2)
            los, pmfs = [], []
            for c in range(self.channels):
                fc = np.maximum.accumulate(f[:, c])
                below = np.nonzero(fc < TAIL_MASS)[0]
                above = np.nonzero(fc > 1.0 - TAIL_MASS)[0]
                i_lo = int(below[-1]) + 1 if below.size else 0  # first k with F(k + 1/2) >= tail
                i_hi = int(above[0]) if above.size else fc.size - 1
                i_hi = max(i_hi, i_lo + 1)  # at least two symbols
                cdf_hi = fc[i_lo : i_hi + 1]
                p = np.diff(np.concatenate([[0.0], cdf_hi]))
                p[-1] += 1.0 - cdf_hi[-1]  # the upper tail into the last symbol
                p = np.maximum(p, 1e-15)
                los.append(i_lo - half)
                pmfs.append(p / p.sum())
            return np.asarray(los, dtype=np.int64), pmfs

    return _Density()


__all__ = ["LIKELIHOOD_BOUND", "MAX_TABLE_LEVELS", "TAIL_MASS", "factorized_density"]
