"""One seed-003 run: train a stage into a run directory, finish it, evaluate it.

:func:`shift_run` is what ``rdlab shift train`` and the seed-003 reproductions call; its
:class:`ShiftRun` is the run's ``results.json``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdlab.core.results import jsonable
from rdlab.core.rundir import RunDir, check_same_settings, load_finished_run
from rdlab.core.validation import check_int
from rdlab.models.learned import TrainState, resume_train_state, train_state_saver
from rdlab.models.shift.config import (
    BASE_STAGE,
    MODEL_FILE,
    TRAIN_FILE,
    ShiftConfig,
    run_settings,
    task_images,
)
from rdlab.models.shift.evaluation import ShiftEvaluation, evaluate_shift, finish_shift_model
from rdlab.models.shift.network import ShiftModel
from rdlab.models.shift.training import steps_per_epoch, train_shift


@dataclass(frozen=True)
class ShiftRun:
    """The outcome of :func:`shift_run`.

    Attributes
    ----------
    path : str
    config : ShiftConfig
    finished : bool
        Whether training reached its last step (False after ``stop_after``).
    steps, total_steps : int
    train_seconds : float
        Wall-clock seconds of this call's training.
    history : tuple of dict
        Per epoch: ``train_mse`` (the stage's MSE loss; for two-branch the sum (18)) and
        ``train_w1`` (the critic's W1 estimate, NaN without a critic).
    base : dict or None
        ``path`` and ``stage`` of the base run.
    evaluation : ShiftEvaluation or None
    """

    path: str
    config: ShiftConfig
    finished: bool
    steps: int
    total_steps: int
    train_seconds: float
    history: tuple[dict[str, Any], ...] = ()
    base: dict[str, Any] | None = None
    evaluation: ShiftEvaluation | None = None

    def to_dict(self) -> dict[str, Any]:
        cfg = self.config
        out: dict[str, Any] = dict(self.evaluation.to_dict()) if self.evaluation else {}
        out.update(
            task=cfg.task,
            stage=cfg.stage,
            common_randomness=cfg.common_randomness,
            latent_dim=cfg.latent_dim,
            levels=cfg.levels,
            lam=cfg.lam,
            data=cfg.dataset,
            degradation=cfg.degradation.describe(),
            finished=self.finished,
            steps=self.steps,
            total_steps=self.total_steps,
            train_seconds=round(self.train_seconds, 2),
            history=list(self.history),
            base=self.base,
        )
        out.setdefault("rate_bound_bits", cfg.rate_bound_bits)
        return jsonable(out)


def load_base(base: str | Path, cfg: ShiftConfig) -> dict[str, Any]:
    """Tensors of the finished base run of a stage, checked against ``cfg``."""
    rd, base_cfg, _, tensors = load_finished_run(
        base, run_settings, model_file=MODEL_FILE, role="base run"
    )
    want = BASE_STAGE[cfg.stage]
    if base_cfg.stage != want:
        raise ValueError(
            f"a {cfg.stage} run builds on a {want} run; {rd.path} is a {base_cfg.stage} run"
        )
    keys = ("task", "factor", "noise_level")
    if want == "end-to-end":
        keys += ("latent_dim", "levels", "common_randomness")
    check_same_settings(base_cfg, cfg, keys, rd.path)
    return tensors


def shift_run(
    config: ShiftConfig,
    out: str | Path,
    *,
    base: str | Path | None = None,
    seed: int = 0,
    data_dir: str | Path | None = None,
    device: str = "cpu",
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    stop_after: int | None = None,
    evaluate: bool = True,
) -> ShiftRun:
    """Train one stage into the run directory ``out`` and evaluate it.

    Writes ``config.json``, ``train.safetensors`` (resume state, each epoch),
    ``model.safetensors`` (all networks; codec stages also their categorical coding model),
    ``results.json``, ``samples.png`` and ``per_image.npy``. ``base`` is the finished run a
    ``two-branch``, ``separate`` (end-to-end run of the same rate and randomness) or
    ``restore-compress`` (restore run) stage builds on.

    Raises
    ------
    ValueError
        A stage without its base run or with one that does not match; a run directory of
        other settings (without ``overwrite``).

    References
    ----------
    .. [1] H. Liu, G. Zhang, J. Chen, A. Khisti, "Cross-Domain Lossy Compression as Entropy
       Constrained Optimal Transport", 2022, Sec. 3 and Appendix B.
    """
    seed = check_int("seed", seed, minimum=0)
    cfg = config
    if not isinstance(cfg, ShiftConfig):
        raise TypeError(f"config must be a ShiftConfig, got {type(cfg).__name__}")
    if cfg.stage in BASE_STAGE and base is None:
        raise ValueError(f"stage {cfg.stage!r} needs a base {BASE_STAGE[cfg.stage]} run (--base)")
    if cfg.stage not in BASE_STAGE and base is not None:
        raise ValueError(f"a {cfg.stage} run takes no base run")
    base_tensors = load_base(base, cfg) if base is not None else None
    base_info = None if base is None else {"path": str(base), "stage": BASE_STAGE[cfg.stage]}
    clean = task_images(cfg, "train", data_dir)
    run_config = {
        "kind": "shift",
        "config": cfg.to_dict(),
        "seed": seed,
        "base": base_info,
        "architecture": cfg.architecture(),
        "n_train": int(clean.shape[0]),
        "degradation": cfg.degradation.describe(),
    }
    rd = RunDir(out)
    resumed = rd.open(run_config, resume=resume, overwrite=overwrite)
    model = ShiftModel(cfg, seed=seed, device=device)
    if base_tensors is not None:
        model.load_state_tensors(base_tensors, parts=model.frozen)
    state, opt_tensors = (
        resume_train_state(rd, model, cfg.architecture(), TRAIN_FILE)
        if resumed
        else (TrainState(), None)
    )
    save = train_state_saver(rd, model, cfg.architecture(), TRAIN_FILE)

    cr = "CR" if cfg.common_randomness else "no-CR"
    rate = "" if cfg.rate_bound_bits is None else f" R={cfg.rate_bound_bits:g}"
    t0 = time.perf_counter()
    state = train_shift(
        model, clean, seed=seed, state=state, tensors=opt_tensors, on_checkpoint=save,
        stop_after=stop_after, progress=progress, desc=f"shift {cfg.task} {cfg.stage}{rate} {cr}",
    )  # fmt: skip
    train_s = time.perf_counter() - t0
    total = steps_per_epoch(cfg.batch_size, clean.shape[0]) * cfg.epochs
    run = ShiftRun(
        path=str(rd.path),
        config=cfg,
        finished=state.step >= total,
        steps=state.step,
        total_steps=total,
        train_seconds=train_s,
        history=tuple(state.history),
        base=base_info,
    )
    if not run.finished:
        return run
    finish_shift_model(model, rd, clean, seed=seed, config_dict=run_config)
    if not evaluate:
        return run
    ev = evaluate_shift(model, rd, seed=seed, data_dir=data_dir)
    run = ShiftRun(**{**run.__dict__, "evaluation": ev})
    rd.write_results(run.to_dict())
    return run


__all__ = ["ShiftRun", "load_base", "shift_run"]
