r"""``rdlab audit``: how far is a codec from R(D) of the data it compresses?

Given data (a user's array or image folder, or a registered source) and a codec's operating
points (rate in bits per sample and distortion; from a CSV / JSON file or from rdlab codec
runs), at each point's distortion D the audit brackets R(D) from both sides and states the
codec's excess rate in bits:

- a **Gaussian** source: R(D) in closed form (reverse water-filling); the bracket is exact;
- any other source: an **upper** estimate by NERD at D (constrained mode, held-out estimate
  with its standard error; Lei et al., Algorithm 1) and a **lower** bound from samples
  (:mod:`rdlab.estimators.lower_bound`, Csiszár's dual with a learned :math:`\log u`), with its
  standard error: lines are fitted once, at a grid of slopes from the steepest NERD slope of the
  points to a quarter of the shallowest (one point: its slope, a half and a quarter of it), and
  each point reports the line that promises most at its D on the training batches.

The codec's excess over R(D) then lies between ``excess_rate_bits`` (its rate minus the upper
estimate: the least excess) and ``excess_rate_max_bits`` (its rate minus the lower bound: the
most), and ``rcc_rate_bound_bits`` = R + log2(R + 1) + 5 at the upper estimate is what reverse
channel coding guarantees at that distortion (Lei et al., eq. (25)). With ``with_rcc`` on a
Gaussian source, rdlab's reverse channel codec (exact Q_Y*) is measured at each distortion too.

Distortions are squared error summed over a sample, on rdlab's scale of the data (images in
[0, 1]); a point given as mean squared error per component is converted
(:func:`rdlab.core.distortion.convert_distortion`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.coding.index_coding import rcc_guarantee_bits
from rdlab.core.distortion import check_distortion_measure, convert_distortion
from rdlab.core.io import read_json_object
from rdlab.core.results import jsonable
from rdlab.core.validation import check_int

MEASURE = "squared_error"
"""The distortion measure of every audit."""


@dataclass(frozen=True)
class CodecPoint:
    """One operating point of the user's codec: rate in bits per sample and distortion."""

    label: str
    rate_bits: float
    distortion: float
    distortion_measure: str = MEASURE

    def __post_init__(self) -> None:
        for name in ("rate_bits", "distortion"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ValueError(f"point {self.label!r}: {name} must be a finite number, got {v!r}")
            if v < 0:
                raise ValueError(f"point {self.label!r}: {name} must be >= 0, got {v}")
        check_distortion_measure(self.distortion_measure)


def read_points(path: str | Path) -> list[CodecPoint]:
    """Codec points from a CSV file (a header with ``rate_bits`` and ``distortion``, optional
    ``label`` and ``distortion_measure``) or a JSON file (a list of such objects, or an object
    with ``points``).

    Raises
    ------
    FileNotFoundError, ValueError
        No such file, or rows without the needed columns or with bad values (the message names
        the file and the row).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist")
    text = p.read_text()
    if p.suffix.lower() == ".json":
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"{p} is not valid JSON ({exc})") from None
        rows = obj.get("points") if isinstance(obj, dict) else obj
        if not isinstance(rows, list):
            raise ValueError(f"{p}: expected a list of points or an object with 'points'")
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    points = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "rate_bits" not in row or "distortion" not in row:
            raise ValueError(f"{p}, point {i + 1}: needs rate_bits and distortion")
        try:
            rate, dist = float(row["rate_bits"]), float(row["distortion"])
        except (TypeError, ValueError):
            raise ValueError(
                f"{p}, point {i + 1}: rate_bits and distortion must be numbers"
            ) from None
        try:
            points.append(
                CodecPoint(
                    label=str(row.get("label") or f"point {i + 1}"),
                    rate_bits=rate,
                    distortion=dist,
                    distortion_measure=str(row.get("distortion_measure") or MEASURE),
                )
            )
        except ValueError as exc:
            raise ValueError(f"{p}: {exc}") from None
    if not points:
        raise ValueError(f"{p} holds no points")
    return points


def run_point(run: str | Path) -> CodecPoint:
    """The operating point a finished rdlab codec run measured (its ``results.json``:
    ``rate_bits`` of the real bitstream and ``distortion`` in its ``distortion_measure``)."""
    p = Path(run) / "results.json"
    if not p.is_file():
        raise FileNotFoundError(f"{run} holds no results.json (a finished rdlab codec run?)")
    res = read_json_object(p)
    if res.get("rate_bits") is None:
        raise ValueError(f"{p} records no rate_bits of a bitstream")
    return CodecPoint(
        label=Path(run).name,
        rate_bits=float(res["rate_bits"]),
        distortion=float(res["distortion"]),
        distortion_measure=str(res.get("distortion_measure", MEASURE)),
    )


@dataclass(frozen=True)
class AuditPoint:
    """The bracket on R(D) at one codec point and the codec's excess rate.

    Attributes
    ----------
    label : str
    rate_bits, distortion : float
        The codec's rate (bits per sample) and distortion (squared error per sample).
    reference : str
        What brackets R(D): the closed form, or NERD above and the sample bound below.
    rd_upper_bits, rd_upper_stderr_bits : float
        R(D) from above (closed form, or NERD's held-out estimate) and its standard error.
    rd_lower_bits, rd_lower_stderr_bits : float
        R(D) from below (closed form, or the sample lower bound) and its standard error.
    slope : float
        dR/dD at D in bits per unit distortion (<= 0).
    excess_rate_bits, excess_rate_max_bits : float
        The codec's rate minus ``rd_upper_bits`` (its least excess over R(D)) and minus
        ``rd_lower_bits`` (its most).
    excess_rate_stderr_bits : float
        Standard error of ``excess_rate_bits`` (that of ``rd_upper_bits``).
    rcc_rate_bound_bits : float
        R + log2(R + 1) + 5 at R = ``rd_upper_bits`` (Lei et al., eq. (25)).
    rcc : dict or None
        rdlab's reverse channel codec at D (``with_rcc``): its CodecReport.
    """

    label: str
    rate_bits: float
    distortion: float
    reference: str
    rd_upper_bits: float
    rd_upper_stderr_bits: float
    rd_lower_bits: float
    rd_lower_stderr_bits: float
    slope: float
    excess_rate_bits: float
    excess_rate_max_bits: float
    excess_rate_stderr_bits: float
    rcc_rate_bound_bits: float
    rcc: dict[str, Any] | None = None
    distortion_measure: str = MEASURE


@dataclass(frozen=True)
class AuditResult:
    """The audit of one codec on one data set (:func:`audit`); ``train_precision`` is NERD's
    training arithmetic (None where R(D) has a closed form and no NERD ran)."""

    source: str
    source_description: dict[str, Any]
    preset: str
    seed: int
    d_max: float
    points: tuple[AuditPoint, ...]
    wall_seconds: float
    train_precision: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, in the glossary's keys."""
        out = asdict(self)
        out["distortion_measure"] = MEASURE
        return jsonable(out)


def _as_squared_error(point: CodecPoint, components: int) -> float:
    return convert_distortion(
        point.distortion, measure=point.distortion_measure, to=MEASURE, components=components
    )


def audit(
    source: Any,
    points: Sequence[CodecPoint],
    *,
    source_name: str | None = None,
    preset: str = "quick",
    seed: int = 0,
    with_rcc: bool = False,
    n_rcc_samples: int = 500,
    train_precision: str | None = None,
    progress: bool = False,
) -> AuditResult:
    """Bracket R(D) at each codec point's distortion and state the codec's excess rate.

    Parameters
    ----------
    source : Source
        The data (:class:`~rdlab.sources.user_data.DataSource`) or a registered source.
    points : sequence of CodecPoint
        The codec's operating points.
    preset : {"quick", "default"}
        Settings of NERD and of the lower bound (quick: minutes on 2 cores).
    seed : int
        Seeds every estimate (splits, networks, batches).
    with_rcc : bool
        Also measure rdlab's reverse channel codec at each distortion (Gaussian sources).
    n_rcc_samples : int
        Samples coded by it.
    train_precision : {"float32", "bfloat16"}, optional
        Arithmetic of NERD's training passes (:attr:`~rdlab.estimators.nerd.NERDConfig.
        train_precision`); by default bfloat16 for images, whose convolutional generator it
        makes twice as fast on CPUs with AVX-512 BF16 at the same estimate within its standard
        error (docs/benchmarks.md), and float32 for vectors.
    progress : bool
        Show progress bars.

    Returns
    -------
    AuditResult
    """
    from rdlab.estimators.nerd import TRAIN_PRECISIONS
    from rdlab.sources.base import GaussianSource

    if preset not in ("quick", "default"):
        raise ValueError(f"preset must be quick or default, got {preset!r}")
    if train_precision is not None and train_precision not in TRAIN_PRECISIONS:
        raise ValueError(
            f"train_precision must be one of {TRAIN_PRECISIONS}, got {train_precision!r}"
        )
    seed = check_int("seed", seed, minimum=0)
    pts = list(points)
    if not pts:
        raise ValueError("points must hold at least one codec point")
    components = int(getattr(source, "dim", 1))
    name = source_name or getattr(source, "name", type(source).__name__)
    t0 = time.perf_counter()
    gaussian = isinstance(source, GaussianSource)
    if with_rcc and not gaussian:
        raise ValueError("with_rcc needs a Gaussian source (its exact Q_Y*)")
    rows = []
    d_max = float(source.total_variance) if gaussian else _data_d_max(source, seed)
    ds = [_as_squared_error(point, components) for point in pts]
    if gaussian:
        brackets = [_closed_form_row(source, d) for d in ds]
    else:
        if train_precision is None:
            images = np.ndim(source.sample(1, seed=seed)) == 4  # (1, C, H, W)
            train_precision = "bfloat16" if images else "float32"
        brackets = _estimated_rows(source, ds, d_max, preset, train_precision, seed, progress)
    for point, d, row in zip(pts, ds, brackets, strict=True):
        upper, lower = row["rd_upper_bits"], row["rd_lower_bits"]
        rows.append(
            AuditPoint(
                label=point.label,
                rate_bits=point.rate_bits,
                distortion=d,
                excess_rate_bits=point.rate_bits - upper,
                excess_rate_max_bits=point.rate_bits - lower,
                excess_rate_stderr_bits=row["rd_upper_stderr_bits"],
                rcc_rate_bound_bits=float(rcc_guarantee_bits(max(0.0, upper))),
                rcc=_rcc_row(source, d, n_rcc_samples, seed) if with_rcc else None,
                **row,
            )
        )
    return AuditResult(
        source=name,
        source_description=source.describe(),
        preset=preset,
        seed=seed,
        d_max=d_max,
        points=tuple(rows),
        wall_seconds=round(time.perf_counter() - t0, 3),
        train_precision=None if gaussian else train_precision,
    )


def _data_d_max(source: Any, seed: int) -> float:
    from rdlab.estimators.nerd import NERD_PRESETS, split_samples, zero_rate_distortion

    x_tr, _ = split_samples(source, NERD_PRESETS["quick"], seed)
    return float(zero_rate_distortion(x_tr))


def _closed_form_row(source: Any, d: float) -> dict[str, Any]:
    from rdlab.theory.gaussian import reverse_water_filling

    if d >= source.total_variance:
        r, slope = 0.0, 0.0
    else:
        wf = reverse_water_filling(source.eigenvalues, d)
        r, slope = float(wf.rate_bits), float(wf.slope)
    return {
        "reference": "closed-form R(D)",
        "rd_upper_bits": r,
        "rd_upper_stderr_bits": 0.0,
        "rd_lower_bits": r,
        "rd_lower_stderr_bits": 0.0,
        "slope": slope,
    }


def _estimated_rows(
    source: Any,
    ds: list[float],
    d_max: float,
    preset: str,
    train_precision: str,
    seed: int,
    progress: bool,
) -> list[dict[str, Any]]:
    """NERD above and the sample lower bound below, at each distortion of ``ds``.

    NERD runs once per point below D_max; the lower bound's lines are fitted once, on the grid
    :func:`~rdlab.estimators.lower_bound.lower_bound_slopes` of all NERD slopes, and each point
    reports the line that promises most at its distortion on the training batches
    (:func:`~rdlab.estimators.lower_bound.best_line`): every line is valid at every distortion.
    """
    from rdlab.estimators.lower_bound import (
        LOWER_BOUND_PRESETS,
        best_line,
        lower_bound_slopes,
        rd_lower_bound,
    )
    from rdlab.estimators.nerd import NERD_PRESETS, nerd_point

    reference = "NERD estimate (above) and the sample lower bound (below)"
    config = replace(NERD_PRESETS[preset], train_precision=train_precision)
    nerd = {
        i: nerd_point(source, seed=seed, target_distortion=d, config=config, progress=progress)
        for i, d in enumerate(ds)
        if d < d_max
    }
    slopes = [float(r.estimate.slope) for r in nerd.values()]
    slopes = [s for s in slopes if math.isfinite(s) and s < 0]
    lines = [
        rd_lower_bound(
            source, slope=s, seed=seed, config=LOWER_BOUND_PRESETS[preset], progress=progress
        )
        for s in (lower_bound_slopes(slopes) if slopes else [])
    ]
    rows = []
    for i, d in enumerate(ds):
        row = {
            "reference": reference,
            "rd_upper_bits": 0.0,
            "rd_upper_stderr_bits": 0.0,
            "rd_lower_bits": 0.0,
            "rd_lower_stderr_bits": 0.0,
            "slope": 0.0,
        }
        if i in nerd:
            res = nerd[i]
            row.update(
                rd_upper_bits=float(res.rate_bits),
                rd_upper_stderr_bits=float(res.rate_stderr_bits),
                slope=float(res.estimate.slope),
            )
            if lines:
                lb = best_line(lines, d)
                row.update(
                    rd_lower_bits=float(lb.rate_lower_bits(d)),
                    rd_lower_stderr_bits=float(lb.intercept_stderr_bits),
                )
        rows.append(row)
    return rows


def _rcc_row(source: Any, d: float, n: int, seed: int) -> dict[str, Any] | None:
    from rdlab.coding.codec import measure_codec
    from rdlab.coding.rcc import RCCCodec

    if d >= source.total_variance:
        return None
    codec = RCCCodec.gaussian(source, distortion=d)
    return measure_codec(codec, source.sample(n, seed=seed), seed=seed).to_dict()


def plot_audit(result: AuditResult, path: str | Path) -> Path:
    """The codec's points, the bracket on R(D) at each, and the one-shot guarantee."""
    from rdlab.core.io import headless_pyplot, write_figure

    plt = headless_pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    pts = sorted(result.points, key=lambda p: p.distortion)
    d = np.array([p.distortion for p in pts])
    up = np.array([p.rd_upper_bits for p in pts])
    lo = np.array([p.rd_lower_bits for p in pts])
    ax.vlines(d, lo, up, colors="k", lw=3, alpha=0.5, label="R(D): lower bound to upper estimate")
    ax.plot(d, up, "kv", ms=5)
    ax.plot(d, lo, "k^", ms=5)
    ax.plot(d, [p.rate_bits for p in pts], "o", color="C3", label="your codec")
    ax.plot(d, [p.rcc_rate_bound_bits for p in pts], "x", color="C0", label="R + log2(R+1) + 5")
    rcc = [(p.distortion, p.rcc["rate_payload_bits"]) for p in pts if p.rcc]
    if rcc:
        ax.plot(*zip(*rcc, strict=True), "s", color="C2", mfc="none", label="rdlab RCC (payload)")
    for p in pts:
        ax.annotate(p.label, (p.distortion, p.rate_bits), fontsize=7, xytext=(4, 4),
                    textcoords="offset points")  # fmt: skip
    ax.set_xlabel("distortion (squared error per sample)")
    ax.set_ylabel("rate [bits per sample]")
    ax.set_title(f"audit: {result.source}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return write_figure(fig, path)


__all__ = [
    "AuditPoint",
    "AuditResult",
    "CodecPoint",
    "audit",
    "plot_audit",
    "read_points",
    "run_point",
]
