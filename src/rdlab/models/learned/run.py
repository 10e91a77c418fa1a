"""One learned-codec run: train into a run directory, finish the model, evaluate it.

:func:`learned_run` is what ``rdlab lc train``, the seed-001 reproductions and the demo call; it
returns a :class:`LearnedRun`, whose :meth:`LearnedRun.to_dict` is the run's ``results.json``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdlab.core.results import jsonable
from rdlab.core.rundir import RunDir, check_same_settings, load_finished_run
from rdlab.core.validation import check_int
from rdlab.models.learned.config import (
    MODEL_FILE,
    TRAIN_FILE,
    LearnedConfig,
    data_record,
    run_settings,
    split_images,
)
from rdlab.models.learned.evaluation import (
    LearnedEvaluation,
    eval_distortion,
    evaluate_model,
    finish_model,
)
from rdlab.models.learned.network import LearnedModel
from rdlab.models.learned.training import (
    TrainState,
    resume_train_state,
    steps_per_epoch,
    train_model,
    train_state_saver,
)


@dataclass(frozen=True)
class LearnedRun:
    """The outcome of :func:`learned_run`.

    Attributes
    ----------
    path : str
        The run directory.
    config : LearnedConfig
    finished : bool
        Whether training reached its last step (False after ``stop_after``).
    steps, total_steps : int
        Steps done and steps of the whole training.
    train_seconds : float
        Wall-clock seconds of this call's training.
    history : tuple of dict
        One entry per epoch (:class:`~rdlab.models.learned.training.TrainState`).
    base : dict or None
        ``path`` and ``lam`` of the base run of a universal or refinement model.
    evaluation : LearnedEvaluation or None
        The test-split measurements (None unless finished and evaluated).
    """

    path: str
    config: LearnedConfig
    finished: bool
    steps: int
    total_steps: int
    train_seconds: float
    history: tuple[dict[str, Any], ...] = ()
    base: dict[str, Any] | None = None
    evaluation: LearnedEvaluation | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """The run's results in the glossary's keys (what ``results.json`` holds)."""
        cfg = self.config
        out: dict[str, Any] = dict(self.evaluation.to_dict()) if self.evaluation else {}
        out.update(
            finished=self.finished,
            steps=self.steps,
            total_steps=self.total_steps,
            train_seconds=round(self.train_seconds, 2),
            history=list(self.history),
            mode=cfg.mode,
            lam=cfg.lam,
            quantizer=cfg.quantizer,
            data=cfg.data,
            base=self.base,
        )
        return jsonable(out)


def _load_base(base: str | Path, cfg: LearnedConfig) -> tuple[LearnedConfig, Any]:
    """Config and tensors of a finished end-to-end run used as a base."""
    rd, base_cfg, _, tensors = load_finished_run(
        base, run_settings, model_file=MODEL_FILE, role="base run"
    )
    if base_cfg.mode != "end-to-end":
        raise ValueError(f"base run {rd.path} must be an end-to-end model, not {base_cfg.mode}")
    keys = ("data", "quantizer", "latent_dim", "levels", "encoder_width")
    check_same_settings(base_cfg, cfg, keys, rd.path)
    return base_cfg, tensors


def learned_run(
    config: LearnedConfig,
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
    track_test: bool = False,
) -> LearnedRun:
    """Train one learned model into the run directory ``out`` and evaluate it.

    Writes ``config.json``, ``train.safetensors`` (resume state, each epoch),
    ``model.safetensors`` (weights, critic and the categorical coding model fitted on the
    training symbols), ``results.json`` (:meth:`LearnedRun.to_dict`, with the measurements of
    :func:`~rdlab.models.learned.evaluation.evaluate_model`) and ``samples.png``. ``base`` is the end-to-end run that universal
    and refinement models build on. ``track_test`` adds each epoch's test MSE (eval mode, the
    final evaluation's dither) to the history as ``test_mse``, the learning curve the official
    code reports; it does not change the training, and the last epoch's value is the final
    ``distortion``.
    """
    import torch

    seed = check_int("seed", seed, minimum=0)
    cfg = config
    if cfg.mode != "end-to-end" and base is None:
        raise ValueError(f"mode {cfg.mode!r} needs a base run (--base RUN)")
    if cfg.mode == "end-to-end" and base is not None:
        raise ValueError("an end-to-end run takes no base run")
    base_info = None
    base_tensors = None
    if base is not None:
        base_cfg, base_tensors = _load_base(base, cfg)
        base_info = {"path": str(base), "lam": base_cfg.lam}
    x_tr = split_images(cfg, "train", data_dir)
    run_config = {
        "kind": "learned-codec",
        "config": cfg.to_dict(),
        "seed": seed,
        "base": base_info,
        "architecture": cfg.architecture(),
        "n_train": int(x_tr.shape[0]),
    }
    if (record := data_record(cfg.data)) is not None:
        run_config["data_record"] = record
    rd = RunDir(out)
    resumed = rd.open(run_config, resume=resume, overwrite=overwrite)
    model = LearnedModel(cfg, seed=seed, device=device)
    if base_tensors is not None:
        model.load_state_tensors(base_tensors, parts=("encoder",))
        if cfg.mode == "universal" and cfg.init_from_base:
            model.load_state_tensors(base_tensors, parts=("decoder", "critic"))
    state, opt_tensors = (
        resume_train_state(rd, model, cfg.architecture(), TRAIN_FILE)
        if resumed
        else (TrainState(), None)
    )
    save = train_state_saver(rd, model, cfg.architecture(), TRAIN_FILE)

    on_epoch = x_te = None
    if track_test:
        x_te = torch.from_numpy(split_images(cfg, "test", data_dir))

        def on_epoch(m: LearnedModel) -> dict[str, float]:
            return {"test_mse": eval_distortion(m, x_te, seed=seed)}

    label = f"lc {cfg.data} {cfg.quantizer} R={cfg.rate_bound_bits:.3g} lam={cfg.lam:g}"
    t0 = time.perf_counter()
    state = train_model(
        model,
        torch.from_numpy(x_tr),
        seed=seed,
        state=state,
        tensors=opt_tensors,
        on_checkpoint=save,
        stop_after=stop_after,
        on_epoch=on_epoch,
        progress=progress,
        desc=label,
    )
    train_s = time.perf_counter() - t0
    total = steps_per_epoch(cfg, x_tr.shape[0]) * cfg.epochs
    run = LearnedRun(
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
    finish_model(model, rd, torch.from_numpy(x_tr), seed=seed, config_dict=run_config)
    if not evaluate:
        return run
    ev = evaluate_model(model, rd, seed=seed, data_dir=data_dir, x_test=x_te, progress=progress)
    run = LearnedRun(**{**run.__dict__, "evaluation": ev})
    rd.write_results(run.to_dict())
    return run


__all__ = ["LearnedRun", "learned_run"]
