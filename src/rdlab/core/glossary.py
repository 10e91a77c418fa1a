"""The glossary: every key rdlab prints or writes, with its unit and its one meaning.

A key means one thing everywhere: in a ``--json`` line, a ``results.json`` of a run or a
reproduction, a ``config.json``, a header printed by ``rdlab info``. The rules that matter most:

- ``rate_bits`` of a **codec** is 8 · (bytes of the whole file) / samples — what a user pays;
  ``rate_payload_bits`` leaves out the container and the header; ``rate_information_bits`` is
  the information content of the sent symbols under the codec's coding model;
  ``rate_bound_bits`` the codec's own bound. For a **solver or estimator** ``rate_bits`` is the
  rate of R(D) at the point, with ``rate_stderr_bits`` for estimates.
- ``gap_bits`` is only a certified gap between an upper and a lower bound on R(D). The distance
  of an estimate or a codec to a reference is ``excess_rate_bits``, and ``reference`` says
  against what.
- every distortion names its measure in ``distortion_measure`` (a key of
  :data:`rdlab.core.distortion.DISTORTION_MEASURES`); converting between per-sample and
  per-component values is :func:`rdlab.core.distortion.convert_distortion`.

Keys that are data rather than names — numbers labelling entries (a rate, a λ, a bit budget)
— are not glossary keys. A key ``X_stderr`` is the standard error of ``X``, and
``X_stderr_bits`` that of ``X_bits``.

:func:`check_keys` warns (:class:`GlossaryWarning`) about keys outside the glossary; the test
suite turns that warning into an error, and every ``--json`` line and every reproduction's
results go through it. ``docs/glossary.md`` is :func:`glossary_markdown`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rdlab.core.distortion import DISTORTION_MEASURES


@dataclass(frozen=True)
class Term:
    """A glossary entry: the unit (``""`` for none) and the one meaning of a key."""

    unit: str
    meaning: str


STDERR_SUFFIX = "_stderr"
"""``X_stderr`` is the standard error of ``X`` (same unit as ``X``)."""

STDERR_BITS_SUFFIX = "_stderr_bits"
"""``X_stderr_bits`` is the standard error of ``X_bits`` (bits)."""


def _t(unit: str, meaning: str) -> Term:
    return Term(unit, meaning)


BITS = "bits"
BITS_PER_SAMPLE = "bits per sample"
BITS_PER_IMAGE = "bits per image"
BITS_PER_QUERY = "bits per query"
SECONDS = "s"
BYTES = "bytes"
DISTORTION_UNIT = "unit of distortion_measure"
MSE_PER_PIXEL = "squared error per pixel"
SQUARED_ERROR = "squared error per sample"
W1 = "W1 estimate"
SLOPE_UNIT = "bits per unit of distortion"

GLOSSARY: dict[str, Term] = {
    # -- rates --------------------------------------------------------------------------------
    "rate_bits": _t(
        BITS_PER_SAMPLE,
        "for a codec: 8 x (bytes of the whole file) / samples, container and header included "
        "(what a user pays); for a solver, a closed form or an estimator: the rate of R(D) at "
        "the point",
    ),
    "rate_payload_bits": _t(
        BITS_PER_SAMPLE, "8 x (bytes of a codec's payload) / samples: no container, no header"
    ),
    "rate_information_bits": _t(
        BITS_PER_SAMPLE,
        "information content of the symbols a codec sent under its coding model (the ideal an "
        "entropy coder approaches)",
    ),
    "rate_bound_bits": _t(
        BITS_PER_SAMPLE,
        "a codec's own bound on its rate: d log2 L for a quantised code of d symbols of L "
        "levels, R + log2(R + 1) + 5 for reverse channel coding (eq. (25), Lei et al.), the bit "
        "budget for the product quantiser",
    ),
    "gap_bits": _t(
        "bits",
        "certified gap between an upper and a lower bound on R(D) at the point (only that)",
    ),
    "excess_rate_bits": _t(
        "bits",
        "a rate minus a reference rate at the same distortion; `reference` names the reference",
    ),
    "reference": _t("", "what an excess_rate_bits is measured against"),
    "rate_stderr_bits": _t(
        BITS_PER_SAMPLE,
        "standard error of an estimated rate_bits (NERD: over the held-out source samples)",
    ),
    "rate_lower_bits": _t(
        BITS_PER_SAMPLE,
        "certified lower bound on R(D) at the point's distortion (Blahut-Arimoto; in `rdlab "
        "retrieval bound` the corrected ranking Fano bound, eq. (5) of Chen)",
    ),
    "rate_upper_bits": _t(
        BITS_PER_SAMPLE,
        "certified upper bound on R(D) at the point's distortion (Blahut-Arimoto)",
    ),
    "closed_form_rate_bits": _t(
        BITS_PER_SAMPLE,
        "R(D) in closed form (reverse water-filling for Gaussian sources) at the point's "
        "distortion: at NERD's estimated distortion (null where no closed form is known), at "
        "the target distortion of a reverse-channel-coding operating point",
    ),
    "ecsq_rate_bits": _t(
        BITS_PER_SAMPLE,
        "rate of the ideal transform code with entropy-coded uniform scalar quantisers on a "
        "Gaussian source at the point's distortion (eigenbasis, one step per component chosen "
        "at a common slope, index entropy as rate, centroid reproduction, time sharing between "
        "slopes; rdlab.theory.transform_coding): the reference a learned transform code (NTC) "
        "approaches",
    ),
    "target_rate_bits": _t(
        BITS_PER_SAMPLE,
        "the rate R at which reverse water-filling gives a NERD point's target_distortion "
        "(the D with R(D) = R; 002-fig2, 002-fig15)",
    ),
    "rate_one_shot_bits": _t(
        BITS_PER_SAMPLE,
        "rate of reverse channel coding when each index is coded alone with the one-shot "
        "prefix (Shannon) code of the Zipf law (eq. (27), Lei et al.), container excluded",
    ),
    "rate_entropy_bits": _t(
        BITS_PER_IMAGE,
        "plug-in entropy of a learned codec's sent test-split symbols, the sum over latent "
        "dimensions j of H(symbols of dimension j): the rate of a coding model fitted on them",
    ),
    "rates_bits": _t(
        BITS,
        "the rates of a figure's curves (001-fig1: the cross-sections of Fig. 1b; its "
        "refinement: the two stage rates R1 <= R2 of the Thm 8 construction, Zhang et al.)",
    ),
    "rates": _t(
        BITS,
        "the rates at which 003-fig3 ran the exact solvers (d_ncr and d_cr are given at them)",
    ),
    "entropy_bits": _t(
        BITS,
        "entropy of the empirical law of the samples: Blahut-Arimoto's rate at zero distortion "
        "(002-fig1)",
    ),
    "log2_n": _t(
        BITS,
        "log2 n for the n samples Blahut-Arimoto ran on: its largest possible rate (002-fig1)",
    ),
    "max_excess_rate_bits": _t(
        BITS,
        "largest excess_rate_bits over the points: the rate named by excess_of minus the "
        "reference (002-fig9: payload rate minus the closed-form R(D))",
    ),
    "max_abs_excess_rate_bits": _t(BITS, "largest abs(excess_rate_bits) over the points"),
    "min_margin_to_bound_bits": _t(
        BITS,
        "smallest rate_bound_bits - rate_payload_bits over the points: how far the codes stay "
        "below the guarantee R + log2(R + 1) + 5 (eq. (25), Lei et al.)",
    ),
    "excess_of": _t("", "which rate an excess is measured on (e.g. rate_payload_bits)"),
    # -- distortion and perception ------------------------------------------------------------
    "distortion": _t(
        "unit of distortion_measure",
        "mean distortion per sample, in the measure named by distortion_measure",
    ),
    "distortion_measure": _t(
        "",
        "the distortion measure: " + "; ".join(f"{k}: {v}" for k, v in DISTORTION_MEASURES.items()),
    ),
    "target_distortion": _t(
        DISTORTION_UNIT,
        "the distortion a point is made for: the constraint D of a constrained NERD run (null "
        "in Lagrangian mode); the D whose R(D)-optimal output law Q_Y* reverse channel coding "
        "uses (Lei et al. §V)",
    ),
    "target_distortions": _t(
        DISTORTION_UNIT,
        "the target distortions of 002-fig7, the same for every squared l_p distortion",
    ),
    "optimal_distortion": _t(
        SQUARED_ERROR,
        "distortion of the R(D)-optimal Gaussian operating point (the exact Q_Y*) at a NERD "
        "run's slope (002-fig19)",
    ),
    "d_max": _t(
        DISTORTION_UNIT,
        "zero-rate distortion D_max: E d(X, E X) for NERD (closed form for a Gaussian source "
        "under squared error, else the empirical value on the training samples); E d(X, Y) of "
        "independent X and Y for entropy-constrained optimal transport (Liu et al.)",
    ),
    "d_max_empirical": _t(
        DISTORTION_UNIT,
        "(1/n) sum_i d(x_i, mean of x) on a NERD run's held-out samples",
    ),
    "d_max_upper_bounds": _t(
        DISTORTION_UNIT,
        "per squared l_p distortion, (1/n) sum_i d(x_i, mean of x) on 20 000 source samples: "
        "an upper bound on D_max (002-fig7 keeps its targets below all of them)",
    ),
    "d_max_ba": _t(
        SQUARED_ERROR,
        "zero-rate distortion of Blahut-Arimoto on the empirical law of the samples with the "
        "samples as reproduction alphabet, min_j (1/n) sum_i d(x_i, x_j) (>= the true D_max; "
        "Lei et al. §I-A)",
    ),
    "d_max_ba_on_samples": _t(SQUARED_ERROR, "d_max_ba, repeated in 002-fig1's zero-rate check"),
    "d_min": _t(
        DISTORTION_UNIT,
        "least distortion of entropy-constrained optimal transport (infinite rate): "
        "abs(q_X - q_Y) for the binary case, (μ_X - μ_Y)^2 + (σ_X - σ_Y)^2 = W2^2 for the "
        "Gaussian case (Liu et al.)",
    ),
    "distortion_at_near_zero_rate": _t(
        SQUARED_ERROR,
        "NERD's distortion at its near-zero-rate point; it should equal D_max (zero-rate check "
        "of Lei et al., Fig. 4)",
    ),
    "relative_difference": _t(
        "", "abs(distortion_at_near_zero_rate - d_max) / d_max (the zero-rate check)"
    ),
    "perception": _t(
        "unit of perception_measure",
        "perception loss of the reconstruction: W2^2(p_X, p_X̂) (squared unit of X) or "
        "the KL divergence of p_X̂ from p_X in bits (Zhang et al., Thm 1)",
    ),
    "perception_measure": _t(
        "", "the perception measure: w2 (squared Wasserstein-2) or kl (KL divergence, bits)"
    ),
    "perception_w1": _t(
        W1,
        "Wasserstein-1 distance between a learned codec's test images and their "
        "reconstructions, estimated by a fresh WGAN-GP critic trained for fresh_critic_steps "
        "(the same budget for every model, so comparable); null without one",
    ),
    "perception_w1_own": _t(
        W1,
        "the same W1 estimated by the model's own training critic (what Zhang et al. report); "
        "null without one (λ = 0)",
    ),
    "perception_note": _t("", "a sentence on how the seed-001 reproductions report perception"),
    "per_image_note": _t("", "a sentence on how a block-code reproduction reports per image"),
    "w2_squared": _t(SQUARED_ERROR, "W2^2 between U[0, a] and U[0, b] (`rdlab ecot uniform`)"),
    # -- codecs and bitstreams ----------------------------------------------------------------
    "codec": _t("", "registry name of a codec: rcc, learned or pq (docs/codecs.md)"),
    "codec_id": _t(
        "", "the codec's fixed container id: 1 rcc, 2 learned, 3 pq (docs/bitstream.md)"
    ),
    "format_version": _t("", "container format version of a stream (1)"),
    "bitstream_bytes": _t(BYTES, "size of a whole stream: container, header and payload"),
    "payload_bytes": _t(BYTES, "size of a stream's payload alone"),
    "n_samples": _t(
        "samples",
        "number of samples a result is computed from: coded in a stream, or drawn for a "
        "Monte-Carlo check",
    ),
    "encode_seconds": _t(SECONDS, "wall-clock time of the encoder on the batch"),
    "decode_seconds": _t(SECONDS, "wall-clock time of the decoder on the batch"),
    "round_trip_identical": _t(
        "",
        "whether the decoder rebuilt the encoder's reconstruction bit for bit (reverse channel "
        "coding; for a set of points, all of them); null for codecs whose encoder does not know "
        "its reconstruction",
    ),
    "model_identity": _t(
        "",
        "SHA-256 (hex) of the model that wrote a stream (a learned model, a fitted product "
        "quantiser, or reverse channel coding's output law Q_Y); the decoder's must match",
    ),
    "output": _t("", "path of the file a command wrote"),
    "sample_shape": _t("", "shape of one decoded sample"),
    "input_shape": _t(
        "", "shape of one input of a learned codec (e.g. 1, 28, 28), from its header"
    ),
    "event_shape": _t("", "shape of one sample of reverse channel coding ([] for scalars)"),
    "quantizer": _t(
        "",
        "scalar quantiser of a learned codec's latents: dq (deterministic), nq (noisy: "
        "decoder-side noise), uq (universal: shared subtractive dither; Zhang et al., B.1), "
        "uq-private (UQ whose decoder subtracts its own dither: no common randomness, Liu et "
        "al. eq. 16) or ntc (integer rounding of nonlinear transform coding)",
    ),
    "levels": _t(
        "",
        "quantisation levels L per latent dimension of a learned codec (in a stream header: a "
        "list, one per dimension)",
    ),
    "codeword": _t(
        "",
        "codeword of a product-quantiser cell: centroid, or sample (a training point of the "
        "cell drawn from the shared seed)",
    ),
    "dim": _t(
        "", "dimension of one vector (of a Gaussian source; of the product quantiser's vectors)"
    ),
    "n_subvectors": _t("", "number of sub-vectors the product quantiser cuts a vector into"),
    # -- reverse channel coding (seed 002, Sec. V) --------------------------------------------
    "method": _t(
        "",
        "the method that made a result: a solver or estimator (closed-form, blahut-arimoto, "
        "nerd, ranking-fano, lp-highs, program-P), reverse channel coding's selection (pfr or "
        "orc, eq. (28) Lei et al.), or a retrieval decoder (adaptive, fixed, schedule, clip)",
    ),
    "index_coding": _t(
        "",
        "how reverse channel coding codes its indices: range (the batch, one range coder) or "
        "prefix (each index alone, one-shot)",
    ),
    "n_candidates": _t(
        "", "number N of candidates drawn from Q_Y per sample (reverse channel coding)"
    ),
    "log2_n_candidates": _t("", "log2 of n_candidates"),
    "chunk_size": _t(
        "", "candidates per chunk of reverse channel coding's shared randomness (a power of 2)"
    ),
    "zipf_rate_bits": _t(
        BITS,
        "rate parameter C of the Zipf law of reverse channel coding's index (Alg. 2 and eq. "
        "(27), Lei et al.)",
    ),
    "slope": _t(
        SLOPE_UNIT,
        "dR/dD at the point in bits per unit of distortion, <= 0: of R(D) for solvers and "
        "NERD, of the operating point for reverse channel coding (the multiplier in nats is "
        "beta_nats = slope * ln 2)",
    ),
    "beta_nats": _t(
        "nats per unit of distortion",
        "the multiplier beta <= 0 of NERD (eq. (8), Lei et al.) in nats: beta = slope * ln 2 "
        "(null in a constrained run's config.json)",
    ),
    "water_level": _t(
        "squared error per component",
        "water level θ of reverse water-filling: component k gets distortion min(θ, σ_k^2) "
        "(Gaussian R(D); the R(D)-optimal Q_Y* of reverse channel coding)",
    ),
    "output_spec": _t(
        "",
        "how to rebuild reverse channel coding's output law Q_Y, from the stream header (kind, "
        "source, water_level, ...; docs/bitstream.md)",
    ),
    "kind": _t(
        "",
        "the kind of object described: learned-codec (a learned codec's run and architecture), "
        "or the kind of an output law Q_Y in output_spec (gaussian-optimal, gaussian, a trained "
        "generator)",
    ),
    "scalar": _t("", "whether an explicit Gaussian Q_Y (output_spec) is scalar"),
    "basis": _t(
        "",
        "basis of an explicit Gaussian Q_Y (output_spec): identity, a stored rotation (stored, "
        "sha256) or a matrix",
    ),
    "stored": _t("", "dimension of the stored rotation (rdlab/data) that a basis names"),
    "sha256": _t("", "SHA-256 (hex) of a stored rotation file (rdlab/data/rotations.json)"),
    "identity": _t("", "SHA-256 (hex) of a trained generator used as Q_Y (output_spec)"),
    "latent_shape": _t("", "shape of the latent input of a generator used as Q_Y (output_spec)"),
    "nerd_source": _t("", "the source a NERD generator used as Q_Y was trained on (output_spec)"),
    "q": _t(
        "",
        "the output law Q_Y that coded a point: learned (the NERD generator) or exact (the "
        "R(D)-optimal Q_Y*) (002-fig19)",
    ),
    # -- estimators (NERD, seed 002) ----------------------------------------------------------
    "estimator": _t("", "the estimator of a run (nerd)"),
    "estimate": _t(
        "",
        "NERD's final estimate on held-out samples: rate, distortion, their standard errors, "
        "beta_nats, ceiling, ...",
    ),
    "point": _t(
        "", "a NERD run's result as a curve point: rate_bits, distortion, slope, standard errors"
    ),
    "nerd_points": _t("", "the NERD points of 002-fig1, one per slope"),
    "ceiling_bits": _t(
        BITS,
        "log2 M for the M output samples of the final estimate: the largest rate NERD can "
        "report (Lei et al. §III-A)",
    ),
    "near_ceiling": _t(
        "", "whether the estimated rate_bits is within 2 bits of ceiling_bits (possibly capped)"
    ),
    "passes": _t(
        "",
        "passes over the M output samples in the final NERD estimate (more than one in "
        "constrained mode)",
    ),
    "n_x": _t("samples", "held-out source samples of the final NERD estimate"),
    "n_output_samples": _t(
        "samples", "output samples M drawn from the learned output law for a NERD estimate"
    ),
    "tangent_stderr_bits": _t(
        BITS_PER_SAMPLE,
        "standard error over the held-out samples of R̂ - slope x D̂: that of the distance to "
        "a curve of this slope at D̂ (to first order)",
    ),
    "nerd_rate_bits": _t(
        BITS_PER_SAMPLE,
        "NERD's held-out rate estimate R̂ of the run whose generator is the output law Q_Y "
        "(002-fig10, 002-fig19)",
    ),
    "nerd_distortion": _t(
        DISTORTION_UNIT,
        "NERD's held-out distortion D̂ of the run whose generator is the output law Q_Y",
    ),
    "nerd_preset": _t("", "the NERD preset (quick, default or paper) of a reproduction's runs"),
    "nerd_seconds": _t(
        SECONDS, "wall-clock time of the NERD trainings and estimates of a reproduction"
    ),
    "mode": _t(
        "",
        "the training mode: end-to-end, universal or refinement for a learned codec (Zhang et "
        "al.); constrained (Algorithm 1, at target_distortion) or lagrangian (at slope) for NERD",
    ),
    "distortions": _t(DISTORTION_UNIT, "target distortions of a `rdlab nerd` sweep"),
    "slopes": _t(SLOPE_UNIT, "slopes (<= 0) of a `rdlab nerd` sweep"),
    # -- NERD settings and generators (config.json) -------------------------------------------
    "steps": _t(
        "steps",
        "gradient steps of a training: done (in results) or to do (T of Algorithm 1, in a "
        "NERD config)",
    ),
    "step": _t("steps", "steps done when a NERD history entry was logged"),
    "lr": _t(
        "",
        "Adam learning rate at step 0 (NERD: cosine decay to lr_final; seed-003 models: of "
        "every network, divided at lr_decay_epochs)",
    ),
    "lr_final": _t("", "NERD's Adam learning rate at the last step"),
    "generator_batch": _t(
        "samples",
        "output samples per NERD step (the inner expectation of eq. (11); caps the in-batch "
        "rate at log2 of it)",
    ),
    "eval_samples": _t("samples", "output samples M of the final NERD estimate"),
    "eval_chunk": _t("samples", "output samples per chunk of the final NERD estimate"),
    "n_eval": _t(
        "samples",
        "held-out source samples asked for the final NERD estimate (at most a sixth of a "
        "finite data set)",
    ),
    "generator": _t(
        "",
        "the NERD generator network: mlp or dcgan (null: chosen from the sample shape)",
    ),
    "generator_params": _t("", "parameters given to the NERD generator (e.g. width, channels)"),
    "checkpoint_every": _t("steps", "steps between checkpoints of a NERD or NTC run"),
    # -- nonlinear transform coding (seed 002's DNN compressor) -------------------------------
    "filters": _t("", "hidden widths of each channel's cumulative in the factorised density"),
    "nerd_interpolated_rate_bits": _t(
        "bits",
        "NERD's rate interpolated linearly between its points at another code's distortion "
        "(null outside them)",
    ),
    "ntc_points": _t(
        "", "points of the DNN compressor (NTC) beside a reproduction, each at its distortion"
    ),
    "quantization": _t(
        "", "what an NTC decoder saw in training: mixed (rounded, straight-through) or noise"
    ),
    "rate_warmup": _t("", "share of NTC training steps over which the rate weight rises to 1"),
    "candidates": _t(
        "", "NTC models trained from different seeds, of which the least objective is kept"
    ),
    "candidate_objective_bits": _t(
        BITS_PER_SAMPLE,
        "each NTC candidate's rate + λ · distortion with rounded latents on training samples",
    ),
    "candidate_chosen": _t("", "index (from 0) of the NTC candidate kept"),
    "block_size": _t("", "samples M coded as one block (images tiled sqrt(M) x sqrt(M))"),
    "distortion_weight": _t(
        "bits per unit distortion",
        "λ of an NTC model, trained for rate + λ · distortion (rdlab ntc train --lam)",
    ),
    "active_latents": _t(
        "", "NTC latent channels whose coding table has more than 0.01 bit of entropy"
    ),
    "loss": _t("bits", "training objective: rate + λ · distortion, per sample"),
    "out": _t("", "the folder a command wrote its runs to"),
    "log_every": _t("steps", "steps between entries of a NERD run's history"),
    "eval_dtype": _t("", "arithmetic of the final NERD estimate (float64)"),
    "train_precision": _t(
        "",
        "arithmetic of a NERD generator's training passes: float32, or bfloat16 under "
        "torch.autocast (the estimate itself is always computed in eval_dtype)",
    ),
    "architecture": _t(
        "",
        "what a checkpoint must match: a learned codec's (kind, family, quantizer, latent_dim, "
        "levels, widths) or a NERD generator's (name, latent_dim, output_shape, params)",
    ),
    "params": _t("", "architecture parameters of a NERD generator (width; channels, layers)"),
    "width": _t("", "hidden width of the NERD MLP generator"),
    "channels": _t("", "base channel count c_d of the NERD DCGAN generator"),
    "bracket_width_bits": _t(
        "bits",
        "NERD's rate minus the sample lower bound at the same distortion (both estimates: not a "
        "certified gap)",
    ),
    "objective_bits": _t(
        "bits", "NERD's Lagrangian R + |slope| · D at the run's slope (lower: a better Q_Y)"
    ),
    "layers": _t("", "stride-2 transposed-convolution layers of the NERD DCGAN generator"),
    "output_shape": _t("", "shape of one output sample of a NERD generator"),
    "latent_dim": _t(
        "",
        "dimension of a model's latent space: d quantised dimensions of a learned codec; the "
        "noise input of a NERD generator (null: its default); the shared intent of the "
        "retrieval mixture",
    ),
    # -- sources ------------------------------------------------------------------------------
    "source": _t(
        "", "name of the source (gaussian20, digits, ...; gaussian, bernoulli, discrete in rd)"
    ),
    "source_description": _t(
        "", "the source as it describes itself (source, dim, mean, eigenvalues; n, image_shape)"
    ),
    "eigenvalues": _t(
        "squared unit of X",
        "eigenvalues of a Gaussian source's covariance: its component variances σ_k^2",
    ),
    "mean": _t("unit of X", "mean vector (of a Gaussian source or an explicit Gaussian Q_Y)"),
    "variance": _t("squared unit of X", "variance σ^2 of a scalar Gaussian source"),
    "variances": _t(
        "squared unit of X",
        "component variances of a Gaussian (the source of `rdlab rd gaussian`; an explicit "
        "Gaussian Q_Y in its basis)",
    ),
    "p": _t("", "P(X = 1) of a Bernoulli source"),
    "n_source": _t("", "size of a discrete source's alphabet"),
    "n_reproduction": _t("", "size of the reproduction alphabet"),
    "image_shape": _t("", "shape (C, H, W) of one image"),
    "n_images": _t("images", "images in the image source"),
    "n": _t(
        "",
        "a count: images in a data set (source_description), samples Blahut-Arimoto ran on "
        "(002-fig1), or trials with a finite value (001-table2-3)",
    ),
    "n_distinct": _t("", "distinct samples among those Blahut-Arimoto ran on (002-fig1)"),
    "rdlab_data": _t("", "the RDLAB_DATA data directory in use (null: unset)"),
    "mnist_unavailable": _t("", "why MNIST was not used (its files were not found)"),
    # -- solvers, closed forms and curves -----------------------------------------------------
    "iterations": _t(
        "",
        "iterations the method used for the point (0 for closed forms; NERD: training steps)",
    ),
    "converged": _t("", "whether the method met its stopping rule"),
    "label": _t("", "the name of a curve, or of a codec point (rdlab audit)"),
    "meta": _t("", "a curve's metadata (e.g. variance, perception_measure, source)"),
    "points": _t("", "the points of a curve or of a result (rates, distortions, ...)"),
    "curves": _t("", "the curves of a result or figure, each a list or mapping of points"),
    "layout": _t("", "how a stored array is indexed (rdp_surface.json)"),
    "tol_bits": _t(BITS, "certified gap Blahut-Arimoto was asked to reach"),
    "max_gap_bits": _t(BITS, "largest gap_bits over a Blahut-Arimoto curve's points"),
    "blahut_arimoto_on_samples": _t(
        "",
        "Blahut-Arimoto on the empirical law of n images with the images as reproduction "
        "alphabet (002-fig1; Lei et al. §I-A)",
    ),
    "bruteforce_max_abs_deviation_bits": _t(
        BITS,
        "largest abs(closed-form R(D, P) - brute-force minimum over jointly Gaussian "
        "reconstructions) on a grid (001-fig1; Zhang et al., Thm 1)",
    ),
    "bruteforce_points": _t("", "grid points of that brute-force comparison"),
    # -- universal representations and refinement (001-fig1, Zhang et al.) --------------------
    "universality": _t(
        "",
        "per rate of Fig. 1b: the checks of Thm 3 (zero penalty A(Θ)) and Thm 4 (region "
        "(D_a, P_a), (D_b, 0)) for one Gaussian representation",
    ),
    "universal_penalty_bits": _t(
        BITS,
        "I(X; Z) - sup over Θ of R(D, P) for one Gaussian representation Z: an upper bound "
        "on the universality penalty A(Θ) of eq. (6) (0 by Thm 3)",
    ),
    "targets": _t("", "the (D, P) pairs Θ one representation must serve (D: MSE, P: W2^2)"),
    "sampled_distortion": _t(SQUARED_ERROR, "MSE of each target's decoder, estimated from samples"),
    "sampled_perception": _t(
        "squared unit of X", "W2^2 of each target's decoder, estimated from samples"
    ),
    "max_rel_distortion_excess": _t(
        "", "largest (sampled_distortion - target D) / target D over the targets"
    ),
    "D_a": _t(
        SQUARED_ERROR,
        "distortion E(X - X̃)^2 of the MMSE reconstruction X̃ = E[X given Z]: the corner "
        "(D_a, P_a) of Thm 4's region",
    ),
    "P_a": _t("squared unit of X", "perception W2^2 of the MMSE reconstruction (Thm 4's P_a)"),
    "D_b": _t(SQUARED_ERROR, "D_a + P_a: the distortion of the region's zero-perception corner"),
    "D_b_equals_D(0,R)": _t(
        SQUARED_ERROR,
        "abs(D_b - D(0, R)): 0 when Thm 4's D_b equals the cross-section's D at zero perception",
    ),
    "closed_form": _t(
        "unit of the quantity", "the closed-form value of the quantity (beside samples)"
    ),
    "samples": _t(
        "unit of the quantity", "the quantity estimated from samples (beside closed_form)"
    ),
    "refinement": _t(
        "",
        "successive refinement (Zhang et al., Thm 8): the construction's checks (001-fig1); "
        "the rows of the refinement models (001-fig6)",
    ),
    "mi_formula_bits": _t(
        BITS, "(I(X; Z1), I(X; Z1, Z2)) of the Thm 8 construction from its covariance"
    ),
    "mi_samples_bits": _t(BITS, "the same mutual informations estimated from samples"),
    "remark4_penalty_bits_D1_0.5_D2_0.25": _t(
        BITS,
        "refinement penalty of Remark 4 (Zhang et al.) at D1* = 0.5, D2* = 0.25 for a unit "
        "variance Gaussian",
    ),
    # -- learned codecs (seed 001): configuration ---------------------------------------------
    "config": _t(
        "",
        "the settings of a run or reproduction (LearnedConfig, NERDConfig, a preset's settings)",
    ),
    "data": _t("", "the data set a run used: digits, mnist, fmnist or svhn"),
    "family": _t("", "architecture family of a learned codec: digits, mnist or svhn"),
    "lam": _t(
        "MSE per unit W1",
        "perception weight λ of a learned codec, trained for MSE + λ W1 (λ_i of a universal or "
        "refinement model)",
    ),
    "encoder_width": _t("", "multiplier of the encoder's width"),
    "refine_width": _t("", "multiplier of the refining encoder's width"),
    "refine_latent_dim": _t("", "latent dimensions d2 a refinement model adds (0: none)"),
    "refine_levels": _t("", "levels L2 per added dimension of a refinement model (0: none)"),
    "sigma": _t(
        "", "inverse temperature σ of the soft-to-hard quantiser gradient (Zhang et al., B.1)"
    ),
    "gradient": _t(
        "",
        "the quantiser's backward pass: soft (soft-to-hard) or identity (straight-through)",
    ),
    "epochs": _t("epochs", "training epochs"),
    "epoch": _t("epochs", "the epoch (1-based) of a history entry"),
    "batch_size": _t(
        "samples",
        "samples per training step (learned codec: images per coder batch; NERD: source samples B)",
    ),
    "lr_coder": _t("", "Adam learning rate of the encoder and decoder"),
    "betas_coder": _t("", "Adam betas of the encoder and decoder"),
    "lr_critic": _t("", "Adam learning rate of the critic"),
    "betas_critic": _t("", "Adam betas of the critic"),
    "betas": _t("", "Adam betas of every network of a seed-003 model"),
    "gp_weight": _t("", "weight of the WGAN-GP gradient penalty"),
    "n_critic": _t("", "critic batches per coder batch"),
    "lr_decay_epochs": _t("epochs", "epochs after which the learning rates are multiplied"),
    "lr_decay_factor": _t("", "factor applied to the learning rates at lr_decay_epochs"),
    "n_train": _t(
        "samples",
        "training samples: images of a learned codec (config: the first n_train, null = all), "
        "NERD's source samples, or the retrieval mixture's training queries",
    ),
    "n_test": _t(
        "samples",
        "test samples: images of a learned codec (config: the first n_test, null = all), or "
        "the retrieval mixture's held-out queries",
    ),
    "init_from_base": _t(
        "", "whether a universal model's decoder and critic start from the base's"
    ),
    "train_critic_at_zero": _t("", "whether the critic also trains at λ = 0"),
    "warmup_lam": _t(
        "MSE per unit W1",
        "extra perception weight at epoch 0, falling linearly to 0 at warmup_epochs",
    ),
    "warmup_epochs": _t("epochs", "length of the warmup_lam ramp"),
    "soft_epochs": _t(
        "epochs", "first epochs in which the decoder's input is the soft quantiser assignment"
    ),
    "fresh_critic_steps": _t(
        "steps", "training steps of the fresh critic behind perception_w1 (0: none)"
    ),
    "eval_batch": _t("images", "images per batch when evaluating a learned codec"),
    # -- learned codecs (seed 001): runs and results ------------------------------------------
    "finished": _t("", "whether a training reached its last step"),
    "total_steps": _t("steps", "steps of the whole training (steps per epoch x epochs)"),
    "history": _t(
        "",
        "the training history: one entry per epoch (learned codec) or per log_every steps (NERD)",
    ),
    "train_mse": _t(
        MSE_PER_PIXEL,
        "mean squared error per pixel (pixels in [0, 1]) of a learned codec on the training "
        "batches of the epoch's coder steps",
    ),
    "train_w1": _t(W1, "mean own-critic W1 estimate of the epoch's critic steps (null: no critic)"),
    "test_mse": _t(
        MSE_PER_PIXEL,
        "mean squared error per pixel (pixels in [0, 1]) of a learned codec on the test split "
        "after the epoch",
    ),
    "mse": _t(
        MSE_PER_PIXEL,
        "test-split mean squared error per pixel (pixels in [0, 1]) of the universal models at "
        "one λ_i across trials as max, min, average, n (001-table2-3; in paper_tables2_3 the "
        "paper's, per λ_i)",
    ),
    "w1": _t(
        W1,
        "fresh-critic W1 (perception_w1) of universal models at one λ_i across trials: max, "
        "min, average, n (001-table2-3)",
    ),
    "w1_own": _t(
        W1,
        "own-critic W1 (perception_w1_own) of universal models at one λ_i across trials: max, "
        "min, average, n (001-table2-3; the paper's Tables 2-3 report this one)",
    ),
    "max": _t("unit of the quantity", "largest value over the trials"),
    "min": _t("unit of the quantity", "smallest value over the trials"),
    "average": _t("unit of the quantity", "mean value over the trials"),
    "mse_dq": _t(
        MSE_PER_PIXEL,
        "test-split mean squared error per pixel (pixels in [0, 1]) of the λ = 0 end-to-end "
        "model with the DQ quantiser (001-table1; Zhang et al., Table 1)",
    ),
    "mse_uq": _t(MSE_PER_PIXEL, "the same with the UQ quantiser"),
    "mse_nq": _t(MSE_PER_PIXEL, "the same with the NQ quantiser"),
    "paper_mse_dq": _t(
        MSE_PER_PIXEL, "the paper's test MSE per pixel of DQ at λ = 0 (Table 1, MNIST)"
    ),
    "paper_mse_uq": _t(MSE_PER_PIXEL, "the paper's test MSE per pixel of UQ (Table 1, MNIST)"),
    "paper_mse_nq": _t(MSE_PER_PIXEL, "the paper's test MSE per pixel of NQ (Table 1, MNIST)"),
    "dq": _t(
        MSE_PER_PIXEL, "DQ (deterministic quantiser) in paper_table1: the paper's λ = 0 test MSE"
    ),
    "uq": _t(MSE_PER_PIXEL, "UQ (universal quantiser) in paper_table1: the paper's λ = 0 test MSE"),
    "nq": _t(MSE_PER_PIXEL, "NQ (noisy quantiser) in paper_table1: the paper's λ = 0 test MSE"),
    "order_dq_le_uq_le_nq": _t("", "whether mse_dq <= mse_uq <= mse_nq (the paper's order)"),
    "paper_table1": _t("", "Table 1 of Zhang et al.: λ = 0 test MSE by rate and quantiser"),
    "paper_tables2_3": _t(
        "",
        "Tables 2-3 of Zhang et al.: MSE and own-critic W1 of universal models by λ_i (MNIST)",
    ),
    "lambda_i": _t("MSE per unit W1", "the λ_i of the paper's Tables 2-3"),
    "mse_universal_minus_e2e": _t(
        MSE_PER_PIXEL,
        "test MSE per pixel of the universal model minus that of the end-to-end model at the "
        "same λ",
    ),
    "w1_universal_minus_e2e": _t(W1, "the same difference of fresh-critic W1"),
    "universal_minus_end_to_end": _t(
        "", "per λ, the universal model minus the end-to-end model (001-fig4)"
    ),
    "end_to_end": _t("", "rows of the end-to-end models (trained with their own encoder)"),
    "universal": _t(
        "",
        "rows of the universal models: decoders trained for λ_i on the base's frozen encoder "
        "(Zhang et al. Sec. 3.2)",
    ),
    "base": _t(
        "",
        "the base model of a universal or refinement learned codec: its path and lam (a run's "
        "config.json and results.json), its sub-run name or its results row (reproductions)",
    ),
    "base_lambda": _t("MSE per unit W1", "λ of the end-to-end base model"),
    "path": _t("", "path of a run directory"),
    "name": _t(
        "",
        "name of the item: a sub-run (seed 001), a generator architecture (NERD), an "
        "experiment (rdlab reproduce --list)",
    ),
    "reused": _t("", "whether a sub-run's stored results were reused instead of training it"),
    "models": _t("", "rows of every model a reproduction trained"),
    "per_trial": _t("", "the results of each trial: its seed, base model and universal models"),
    "table": _t("", "the rows of a reproduced table"),
    "parameter_counts": _t("", "parameter counts of the encoders compared in 001-fig6"),
    "base_encoder": _t("", "parameters of the base encoder"),
    "refining_encoder": _t("", "parameters of the refining encoder"),
    "base_plus_refining": _t("", "parameters of base and refining encoder together"),
    "end_to_end_encoder": _t("", "parameters of the parameter-matched end-to-end encoder (d = 6)"),
    "end_to_end_encoder_width": _t("", "encoder_width giving that parameter match"),
    "lambdas": _t("", "the λ lists of the seed-001 reproductions by role"),
    "e_fig4": _t("MSE per unit W1", "λ of the end-to-end models of Fig. 4 (Table 5 or 9)"),
    "u_fig4": _t("MSE per unit W1", "λ_i of the universal models of Fig. 4 and Tables 2-3"),
    "e_fig6": _t("MSE per unit W1", "λ of the end-to-end models of Fig. 6"),
    "r_fig6": _t("MSE per unit W1", "λ_i of the refinement models of Fig. 6"),
    "overrides": _t("", "settings a reproduction applies on top of the preset config"),
    "torch_threads": _t("", "torch threads per model (null: left as they were)"),
    "device": _t("", "torch device of the trainings (cpu, cuda)"),
    "jobs": _t("", "workers of the local executor, or CPUs of a local Ray instance (--jobs)"),
    "executor": _t("", "where an experiment's jobs ran: local (process pool) or ray (--executor)"),
    "address": _t("", "the Ray cluster an experiment's jobs ran on (null: a local instance)"),
    "cpus_per_job": _t("", "Ray CPUs reserved for each job (null: 1)"),
    "gpus_per_job": _t("", "Ray GPUs reserved for each job"),
    "options": _t("", "the typed options an experiment ran with (ExperimentOptions)"),
    "data_dir": _t("", "folder of the real data sets an experiment read (null: RDLAB_DATA)"),
    "fingerprint": _t("", "SHA-256 of a job's function, config and dependencies' fingerprints"),
    # -- retrieval (seed 000, Chen) -----------------------------------------------------------
    "mrr": _t("", "mean reciprocal rank of the relevant document over the held-out queries"),
    "recall_at_1": _t("", "share of held-out queries whose relevant document ranks first"),
    "recall_at_5": _t("", "share of held-out queries whose relevant document is in the top 5"),
    "recall_at_10": _t("", "share of held-out queries whose relevant document is in the top 10"),
    "bound_distortion": _t(
        "",
        "smallest ranking distortion 1 - MRR that the corrected ranking Fano bound (eq. (5), "
        "Chen; erratum E000-2) allows at the measured rate_payload_bits",
    ),
    "bound_mrr": _t(
        "", "largest MRR the corrected ranking Fano bound allows at each bit budget, N = 1000"
    ),
    "bound": _t(
        "",
        "the ranking bound: its name (`rdlab retrieval bound`), or the paper's bound row of "
        "Table 1 (MRR)",
    ),
    "max_mrr": _t("", "largest MRR the ranking Fano bound allows at the given rate"),
    "bits": _t(
        BITS_PER_QUERY,
        "bit budget R of the product quantiser (its fixed-length index); a list of budgets in "
        "000-table1 and 000-fig1",
    ),
    "modality_bits": _t(BITS_PER_QUERY, "bits R_m allocated to each modality (Chen Sec. 5.1)"),
    "subvector_bits": _t(BITS_PER_QUERY, "bits of each sub-vector's k-means codebook"),
    "entropies_bits": _t(
        BITS,
        "estimated entropy of each modality (weights the bit allocation, Chen Sec. 5.1)",
    ),
    "temperatures": _t(
        "",
        "per-modality temperatures τ_m of the decoder (eq. (10), Chen; clip: InfoNCE's τ)",
    ),
    "modality_dims": _t("", "dimensions of the modality blocks of a query vector"),
    "mixture": _t("", "the parameters of the synthetic multimodal mixture (Chen Sec. 7.1)"),
    "allocation": _t(
        "",
        "the product quantiser's bit allocation: modality_dims, modality_bits, entropies_bits, "
        "n_subvectors, subvector_bits",
    ),
    "n_docs": _t("", "documents N in the corpus"),
    "n_queries": _t("", "held-out queries ranked"),
    "n_pairs": _t("", "query-document pairs of the synthetic mixture"),
    "rho": _t("", "redundancy ρ = 1/σ^2 of the synthetic mixture (Chen Sec. 7.1)"),
    "noise_scales": _t(
        "", "factors s_m on each modality's noise standard deviation (σ_m = s_m / sqrt(ρ))"
    ),
    "noise_std": _t("", "noise standard deviation σ_m of each modality"),
    "queries": _t("", "path of the query embeddings (`rdlab retrieval eval`)"),
    "docs": _t("", "path of the document embeddings (`rdlab retrieval eval`)"),
    "max_fit": _t("", "k-means training points per sub-vector"),
    "n_iter": _t("", "Lloyd iterations of k-means"),
    "clip_epochs": _t("epochs", "InfoNCE training epochs of the naive-CLIP baseline"),
    "fig_bits": _t(BITS_PER_QUERY, "bit budgets of 000-fig1"),
    "fig_trials": _t("", "trials of 000-fig1"),
    "trials": _t("", "number of independent trials"),
    "trials_adaptive_ahead": _t(
        "", "trials in which the adaptive decoder's MRR exceeded the fixed one's"
    ),
    "adaptive": _t("", "results of the adaptive-temperature decoder (eq. (10), Chen)"),
    "fixed": _t("", "results of the decoder with one shared temperature"),
    "clip": _t("", "results of the naive-CLIP baseline (Chen Sec. 7.1)"),
    "adaptive_minus_fixed": _t("", "adaptive minus fixed, paired over trials"),
    "balanced": _t("", "the balanced mixture, noise scales (1, 1) (000-table1)"),
    "imbalanced": _t("", "the imbalanced mixture, noise scales (1, 2) (000-table1)"),
    "tables": _t("", "000-table1's summaries per mixture"),
    "zero_from_distortion": _t(
        "", "the distortion (1 - 1/N)/2 from which the ranking Fano bound is 0"
    ),
    "rate_at_zero_distortion_bits": _t(BITS_PER_QUERY, "log2 N: the bound's rate at D = 0"),
    "random_ranking_distortion": _t(
        "", "1 - H_N/N: the distortion of a random ranking (rate 0; Chen Sec. 3)"
    ),
    # -- entropy-constrained optimal transport (seed 003, Liu et al.) -------------------------
    "problem": _t("", "which entropy-constrained optimal transport problem: ecot-binary, ..."),
    "qx": _t("", "P(X = 1) of the binary source"),
    "qy": _t("", "P(Y = 1) of the binary reconstruction law"),
    "mx": _t("unit of X", "mean μ_X of the Gaussian source"),
    "sx": _t("unit of X", "standard deviation σ_X of the Gaussian source"),
    "my": _t("unit of X", "mean μ_Y of the Gaussian reconstruction law"),
    "sy": _t("unit of X", "standard deviation σ_Y of the Gaussian reconstruction law"),
    "a": _t("unit of X", "length of the support of X ~ U[0, a]"),
    "b": _t("unit of X", "length of the support of Y ~ U[0, b]"),
    "common_randomness": _t("", "whether encoder and decoder share randomness (D_cr, not D_ncr)"),
    "asymptotic": _t("", "whether the curves are the asymptotic (block) ones"),
    "panels": _t("", "the panels of a figure, one per pair of laws"),
    "d_ncr": _t("Hamming distortion", "D_ncr (22) at the solver rates (Hamming)"),
    "d_cr": _t("Hamming distortion", "D_cr (25) at the solver rates (Hamming)"),
    "d_ncr_at_1bit": _t(SQUARED_ERROR, "asymptotic D_ncr (58) at R = 1 bit"),
    "d_cr_at_1bit": _t(SQUARED_ERROR, "asymptotic D_cr (61) at R = 1 bit"),
    "cr_le_ncr": _t("", "whether D_cr <= D_ncr at every rate of the curve"),
    "lower_le_ncr_le_upper": _t(
        "", "whether lower bound (24) <= D_ncr (22) <= upper bound (23) at every rate"
    ),
    "upper_bound_tight": _t("", "whether the upper bound (23) equals D_ncr (22)"),
    "lower_bound_tight": _t("", "whether the lower bound (24; 60) equals D_ncr (22; 58)"),
    "max_upper_minus_d_ncr": _t("Hamming distortion", "largest upper bound (23) minus D_ncr (22)"),
    "max_d_ncr_minus_d_cr": _t(
        "Hamming distortion or squared error",
        "largest D_ncr minus D_cr over the rates (003-fig3: (22) - (25); 003-fig8: (58) - (61))",
    ),
    "upper_minus_ncr_max_abs": _t(
        SQUARED_ERROR, "largest abs(upper bound (59) - asymptotic D_ncr (58))"
    ),
    "lp_vs_eq25_max_abs_error": _t(
        "Hamming distortion", "largest abs(LP of appendix A.3 - D_cr of (25))"
    ),
    "program_vs_eq22_max_abs_error": _t(
        "Hamming distortion", "largest abs(program (P) of appendix A.4 - D_ncr of (22))"
    ),
    # -- restoration over compressed representations (seed 003, Sec. 3 and App. B) ----------
    "task": _t("", "seed-003 experiment: sr (MNIST x4 super-resolution) or denoise (SVHN)"),
    "tasks": _t("", "the per-task results of a seed-003 reproduction"),
    "stage": _t(
        "",
        "seed-003 model: end-to-end (eq. 15), two-branch (eq. 18, frozen encoder), separate "
        "(18a, 18b trained apart), restore (U-Net, eq. 70), restore-compress (eq. 71)",
    ),
    "distortion_input": _t(
        MSE_PER_PIXEL,
        "MSE per pixel between a seed-003 output and its degraded input X (Tables 5-8; two-branch "
        "and separate runs: the frozen end-to-end output's)",
    ),
    "distortion_ground_truth": _t(
        MSE_PER_PIXEL,
        "MSE per pixel between a seed-003 output and the clean ground truth of its input "
        "(Tables 9-10; the ground truth is used at test time only)",
    ),
    "branch_input_mse": _t(MSE_PER_PIXEL, "term (a) of eq. (18): E||X - Y1||^2 per pixel"),
    "branch_output_mse": _t(
        MSE_PER_PIXEL, "term (b) of eq. (18): E||Ỹ - Y2||^2 per pixel, Ỹ the end-to-end output"
    ),
    "branch_cross_mse": _t(MSE_PER_PIXEL, "term (c) of eq. (18): E||Y1 - Y2||^2 per pixel"),
    "decomposed_loss": _t(MSE_PER_PIXEL, "L2 of eq. (18): the sum of its terms (a), (b), (c)"),
    "end_to_end_loss": _t(
        MSE_PER_PIXEL, "E||X - Ỹ||^2 per pixel of the no-CR end-to-end model (Table 1)"
    ),
    "decomposed_excess": _t(
        "", "relative excess (decomposed_loss - end_to_end_loss) / end_to_end_loss (Table 1)"
    ),
    "within_10_percent": _t("", "whether abs(decomposed_excess) <= 0.1 at every rate"),
    "joint": _t("", "the terms of (18) with g1, g2 trained jointly on the frozen encoder"),
    "separate": _t("", "the terms of (18) with f1, g1 and f2, g2 trained apart"),
    "separate_branch_input_mse": _t(MSE_PER_PIXEL, "the paper's (18a) of separate training"),
    "separate_branch_output_mse": _t(MSE_PER_PIXEL, "the paper's (18b) of separate training"),
    "paper_values": _t("", "the paper's numbers beside a measured row (Tables 1, 2, 11)"),
    "no_common_randomness": _t("", "the measurements of the model without common randomness"),
    "paper_distortion_input": _t(MSE_PER_PIXEL, "the paper's distortion_input at the rate"),
    "paper_distortion_input_cr": _t(
        MSE_PER_PIXEL, "the paper's distortion_input with common randomness (Tables 5-6)"
    ),
    "paper_distortion_input_ncr": _t(
        MSE_PER_PIXEL, "the paper's distortion_input without common randomness (Tables 5-6)"
    ),
    "paper_distortion_ground_truth_cr": _t(
        MSE_PER_PIXEL, "the paper's distortion_ground_truth with common randomness (Tables 9-10)"
    ),
    "paper_distortion_ground_truth_ncr": _t(
        MSE_PER_PIXEL,
        "the paper's distortion_ground_truth without common randomness (Tables 9-10)",
    ),
    "paper_baseline_distortion_input": _t(
        MSE_PER_PIXEL, "the paper's restore-then-compress distortion_input (Tables 7-8)"
    ),
    "baseline_distortion_input": _t(
        MSE_PER_PIXEL,
        "distortion_input of the baseline: the U-Net's restoration compressed (eq. 71), "
        "measured against the degraded input",
    ),
    "cr_gain": _t(
        MSE_PER_PIXEL,
        "mean over test images of distortion_input without minus with common randomness "
        "(paired, same images; positive: common randomness is better)",
    ),
    "cr_better": _t("", "whether cr_gain > 2 cr_gain_stderr at the rate"),
    "cr_better_everywhere": _t("", "whether cr_better holds at every rate of the sweep"),
    "seed_points": _t(
        "", "per rate, the CR comparison over several training seeds (003-table5/6 --set seeds)"
    ),
    "cr_gain_by_seed": _t(MSE_PER_PIXEL, "cr_gain of each training seed"),
    "distortion_input_cr_by_seed": _t(
        MSE_PER_PIXEL, "distortion_input with common randomness, one per training seed"
    ),
    "distortion_input_ncr_by_seed": _t(
        MSE_PER_PIXEL, "distortion_input without common randomness, one per training seed"
    ),
    "cr_gain_seed_mean": _t(MSE_PER_PIXEL, "mean of cr_gain over the training seeds"),
    "cr_gain_seed_stderr": _t(
        MSE_PER_PIXEL, "standard error of cr_gain_seed_mean over the training seeds"
    ),
    "cr_better_seeds": _t("", "whether cr_gain_seed_mean > 2 cr_gain_seed_stderr at the rate"),
    "cr_better_count": _t("", "number of training seeds whose own cr_better holds at the rate"),
    "cr_better_seeds_everywhere": _t("", "whether cr_better_seeds holds at every rate"),
    "joint_better": _t("", "whether the joint system's distortion_input is below the baseline's"),
    "joint_better_everywhere": _t("", "whether joint_better holds at every rate"),
    "restorer": _t("", "the measurements of the baseline's U-Net restorer (eq. 70)"),
    "svhn_split": _t("", "which SVHN images trained and tested a seed-003 denoising model"),
    "degradation": _t("", "how the inputs were degraded (rdlab.sources.degradations)"),
    "factor": _t("", "super-resolution factor: images downsampled by it, then upsampled back"),
    "noise_level": _t(
        "0-255 pixel scale",
        "standard deviation of the denoising task's Gaussian noise (seed 003: 20; 20/255 on "
        "images in [0, 1])",
    ),
    "resample": _t("", "the resampling of super-resolution (bilinear, as F.interpolate's)"),
    "clipped": _t("", "whether degraded images are clipped to [0, 1] (false: they may leave it)"),
    "model_input_size": _t("", "the size of the degraded image the model sees"),
    "unet_width": _t("", "first convolution width of the baseline's U-Net"),
    # -- experiments and runs -----------------------------------------------------------------
    "experiment": _t("", "registered name of a reproduction (e.g. 001-fig1)"),
    "experiments": _t("", "the reproductions: their list, or each one's results"),
    "paper": _t("", "the paper a reproduction belongs to (its seed number or citation)"),
    "target": _t("", "the figure or table of the paper that a reproduction reproduces"),
    "description": _t(
        "", "one-line description (of a reproduction, or of the synthetic retrieval mixture)"
    ),
    "preset": _t("", "settings preset: quick or paper"),
    "seed": _t(
        "",
        "seed of the randomness: of a reproduction, run or trial; of a stream's shared "
        "randomness (header)",
    ),
    "seeds": _t("", "seeds of the trials, or the training seeds of a seed-003 sweep"),
    "settings": _t(
        "",
        "the settings a reproduction resolved (000-table1: noise scales per mixture; seed 001: "
        "overrides, lambdas, threads, device, jobs, config)",
    ),
    "command": _t("", "the rdlab command that produced the record"),
    "run": _t("", "a run directory (of a learned codec; of a NERD generator used as Q_Y)"),
    "run_dir": _t("", "name of a NERD run directory inside the reproduction's directory"),
    "runs": _t("", "the NERD runs a reproduction trained"),
    "figure": _t("", "file name of a reproduction's figure"),
    "figures": _t("", "file names of a reproduction's figures"),
    "files": _t("", "file names a reproduction wrote"),
    "samples_png": _t("", "path of a grid of generator samples"),
    "wall_seconds": _t(SECONDS, "wall-clock time of a reproduction"),
    "train_seconds": _t(
        SECONDS, "wall-clock time of a training (of a resumed run: this call's part)"
    ),
    "eval_seconds": _t(SECONDS, "wall-clock time of the final NERD estimate"),
    "seconds": _t(SECONDS, "wall-clock time of one NERD point: training and estimate"),
    "zero_rate_check": _t(
        "",
        "NERD's distortion at near-zero rate against D_max (Lei et al., Fig. 4)",
    ),
    "near-zero-rate": _t("", "the NERD run at a near-zero rate (002-fig4)"),
    "higher-rate": _t("", "the NERD run at a higher rate (002-fig4)"),
    "sq-l1": _t("", "results under the squared l_1 distortion (002-fig7)"),
    "sq-l2": _t("", "results under the squared l_2 distortion (002-fig7)"),
    "sq-l3": _t("", "results under the squared l_3 distortion (002-fig7)"),
    "eq24_order_holds_within_0.1_bit": _t(
        "",
        "whether R(D) under sq-l1 >= sq-l2 >= sq-l3 within 0.1 bit at every target (eq. (24), "
        "Lei et al.)",
    ),
    # -- a user's data and the held-out split ---------------------------------------------------
    "data_path": _t("", "the .npy file or image folder a user's data were read from"),
    "data_kind": _t("", "vectors or images: how a user's data were read (docs/glossary.md)"),
    "data_sha256": _t(
        "", "SHA-256 (hex) of the bytes of a user's data (a folder: names and bytes)"
    ),
    "data_record": _t(
        "", "what a learned-codec run records of a user's data: path, SHA-256, shape, split"
    ),
    "split": _t("", "how a run split its data into training and held-out samples"),
    "split_kind": _t(
        "",
        "held-out rows (a finite data set, split by rdlab.sources.user_data.split_indices) or "
        "fresh samples (a distribution, sampled twice)",
    ),
    "split_seed": _t("", "seed of the held-out split (split_indices)"),
    "n_total": _t("samples", "rows of a finite data set before the split"),
    "heldout_sha256": _t(
        "", "SHA-256 (hex) of the held-out row indices as little-endian int64 (checks a split)"
    ),
    # -- rdlab audit and the sample lower bound --------------------------------------------------
    "rd_upper_bits": _t(
        BITS_PER_SAMPLE,
        "R(D) from above at the point's distortion: the closed form, or NERD's held-out estimate "
        "(an upper bound in expectation)",
    ),
    "rd_lower_bits": _t(
        BITS_PER_SAMPLE,
        "R(D) from below at the point's distortion: the closed form, or the sample lower bound "
        "(Csiszár's dual with a learned log u; rdlab.estimators.lower_bound)",
    ),
    "excess_rate_max_bits": _t(
        BITS_PER_SAMPLE,
        "a codec's rate minus rd_lower_bits: the most its excess over R(D) can be",
    ),
    "rcc_rate_bound_bits": _t(
        BITS_PER_SAMPLE,
        "R + log2(R + 1) + 5 at R = rd_upper_bits: what reverse channel coding guarantees at "
        "that distortion (eq. (25), Lei et al.)",
    ),
    "rcc": _t("", "rdlab's reverse channel codec measured at the point (its CodecReport)"),
    "with_rcc": _t("", "whether the audit measured rdlab's reverse channel codec too"),
    "intercept_bits": _t(
        BITS_PER_SAMPLE,
        "intercept of a lower-bound line R(D) >= intercept_bits + slope x D (sample lower bound)",
    ),
    "train_intercept_bits": _t(
        BITS_PER_SAMPLE,
        "the sample lower bound's plug-in intercept on its last training batches (selects a "
        "slope; the held-out intercept_bits is what is reported)",
    ),
    "alpha": _t(
        "", "the alpha of the sample lower bound's linearisation log z <= z/alpha + log alpha - 1"
    ),
    "restarts": _t("", "restarts of the inner supremum over y per batch (sample lower bound)"),
    "bracket": _t(
        "", "R(D) bracketed at a codec's point: an audit point (rdlab audit; the demo's digits)"
    ),
    # -- the main job (rdlab demo) ------------------------------------------------------------
    "job": _t("", "the job (demo)"),
    "grid_points": _t("", "grid points of the discretised scalar Gaussian"),
    "curve_points": _t("", "points of the Blahut-Arimoto curve"),
    "codec_samples": _t("samples", "samples coded by reverse channel coding"),
    "run_nerd": _t("", "whether the NERD stage ran"),
    "run_learned": _t("", "whether the learned-codec stage ran"),
    "gaussian20": _t("", "the closed-form stage on the gaussian20 source"),
    "nerd": _t("", "the NERD stage"),
    "scalar_gaussian": _t("", "the Blahut-Arimoto stage on a discretised N(0, 1)"),
    "learned_codec": _t("", "the learned-codec stage"),
    "blahut_arimoto": _t("", "the points of the Blahut-Arimoto curve"),
    "max_abs_error_bits": _t(
        BITS, "largest abs(Blahut-Arimoto rate - closed-form R(D)) over the curve"
    ),
    "rcc_points": _t(
        "",
        "the reverse-channel-coding points of the demo: each a CodecReport with its target "
        "distortion and closed-form R(D)",
    ),
    "closed_form_curve": _t("", "points of the closed-form R(D) curve (rate_bits, distortion)"),
    "blahut_arimoto_seconds": _t(SECONDS, "wall-clock time of the Blahut-Arimoto curve"),
}
"""Every key rdlab prints or writes (see the module docstring)."""


class GlossaryWarning(UserWarning):
    """A printed or written key is not in the glossary."""


def describe(key: str) -> Term | None:
    """The glossary entry of ``key`` (``X_stderr`` from the entry of ``X``); None if unknown.

    Examples
    --------
    >>> describe("rate_bits").unit
    'bits per sample'
    >>> describe("distortion_stderr").meaning.startswith("standard error of")
    True
    >>> describe("rd_upper_stderr_bits").meaning
    'standard error of rd_upper_bits'

    """
    if key in GLOSSARY:
        return GLOSSARY[key]
    if key.endswith(STDERR_SUFFIX) and (base := GLOSSARY.get(key[: -len(STDERR_SUFFIX)])):
        return Term(base.unit, f"standard error of {key[: -len(STDERR_SUFFIX)]}")
    if key.endswith(STDERR_BITS_SUFFIX):
        stem = key[: -len(STDERR_BITS_SUFFIX)] + "_bits"
        if base := GLOSSARY.get(stem):
            return Term(base.unit, f"standard error of {stem}")
    return None


def _is_label(key: object) -> bool:
    """A number used as a dict key (a rate, a λ, a bit budget): data, not a name."""
    if not isinstance(key, str):
        return True
    try:
        float(key)
    except ValueError:
        return False
    return True


def _walk(obj: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            here = f"{path}.{k}" if path else str(k)
            if not _is_label(k):
                yield str(k), here
            yield from _walk(v, here)
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]")


def unknown_keys(obj: Any) -> list[str]:
    """Paths (``a.b[0].c``) of the keys in ``obj`` that the glossary does not define.

    Examples
    --------
    >>> unknown_keys({"rate_bits": 1.0, "points": [{"distortion": 0.5, "bogus": 1}]})
    ['points[0].bogus']
    """
    return [path for key, path in _walk(obj, "") if describe(key) is None]


def check_keys(obj: Any, where: str) -> None:
    """Warn (:class:`GlossaryWarning`) about every key of ``obj`` outside the glossary."""
    bad = unknown_keys(obj)
    if bad:
        warnings.warn(
            f"{where}: {len(bad)} key(s) not in the glossary (rdlab.core.glossary): "
            + ", ".join(bad[:12])
            + (" ..." if len(bad) > 12 else ""),
            GlossaryWarning,
            stacklevel=2,
        )


def _cell(text: str) -> str:
    """Text for a Markdown table cell (a ``|`` would end the cell)."""
    return text.replace("|", "\\|")


def glossary_markdown() -> str:
    """The text of ``docs/glossary.md``."""
    doc = __doc__.split("\n\n", 1)[1].split(":func:`check_keys`")[0].strip()
    doc = doc.replace(":data:`rdlab.core.distortion.DISTORTION_MEASURES`", "the table below")
    doc = doc.replace(":func:`rdlab.core.distortion.convert_distortion`", "`convert_distortion`")
    lines = [
        "# Glossary",
        "",
        "Generated from `rdlab.core.glossary` (regenerate with "
        "`python -m rdlab.core.glossary > docs/glossary.md`; a test keeps them equal).",
        "",
        doc,
        "",
        "## Distortion measures (`distortion_measure`)",
        "",
        "| measure | meaning |",
        "| --- | --- |",
        *(f"| `{k}` | {_cell(v)} |" for k, v in DISTORTION_MEASURES.items()),
        "",
        "## Keys",
        "",
        "| key | unit | meaning |",
        "| --- | --- | --- |",
        *(
            f"| `{k}` | {_cell(t.unit) or '-'} | {_cell(t.meaning)} |"
            for k, t in sorted(GLOSSARY.items(), key=lambda kv: kv[0].lower())
        ),
        "",
    ]
    return "\n".join(lines)


__all__ = [
    "GLOSSARY",
    "STDERR_SUFFIX",
    "GlossaryWarning",
    "Term",
    "check_keys",
    "describe",
    "glossary_markdown",
    "unknown_keys",
]


if __name__ == "__main__":  # pragma: no cover - regenerates docs/glossary.md
    print(glossary_markdown(), end="")
