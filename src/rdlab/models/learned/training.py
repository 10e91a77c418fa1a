"""Training of learned compressors with a perception term (seed 001, Sec. 4 and Appendix B).

A model is an encoder f (latents in [-1, 1]^d), a scalar quantiser (DQ, NQ or UQ,
:mod:`rdlab.coding.quantizers`), a decoder g and a WGAN-GP critic h. The loss of f and g is

.. math:: \\mathrm{MSE}(x, \\hat x) + \\lambda\\, \\widehat{W_1}(p_X, p_{\\hat X}),
          \\qquad \\widehat{W_1} = \\mathbb E\\, h(X) - \\mathbb E\\, h(\\hat X),

with MSE the mean squared error per pixel (pixels in [0, 1]); so :math:`\\lambda` is in MSE
units per unit of the critic's W1 estimate. Critic steps and coder steps alternate on
successive batches (``n_critic`` critic batches, then one coder batch, as the official code
with ``n_critic = 1``); the critic maximises :math:`\\widehat{W_1}` minus the gradient penalty
:math:`10\\,\\mathbb E(\\|\\nabla h(\\tilde x)\\| - 1)^2` on random interpolates (Gulrajani et al.).
In a critic step the coder runs in train mode without gradients (as in the official code): its
BatchNorm layers normalise with batch statistics, exactly as in the coder steps, and their
running averages (used only at evaluation) also see the critic's batches, which are real
training batches too.

Three modes:

- ``end-to-end``: f, g, h trained together (Tables 5 and 9 sweep :math:`\\lambda`);
- ``universal``: f is loaded from an end-to-end run and frozen **in eval mode** (its
  parameters and BatchNorm statistics never change — the official code leaves BatchNorm in
  train mode, so its "frozen" encoder drifts); a decoder and critic are trained for each
  :math:`\\lambda_i`, starting from the base run's decoder and critic (``init_from_base``);
- ``refinement`` (B.3): the frozen base encoder plus a trainable refining encoder
  :math:`f^+` (``refine_latent_dim`` dims of ``refine_levels`` levels) and a new decoder
  :math:`g^+` reading both codes.

Work that cannot change the result is skipped: with :math:`\\lambda = 0` no critic is trained
(its batches are skipped too, so the coder sees exactly the batches it would see with the
critic running). Every step's randomness (data order, dither, interpolation weights) derives
from ``(seed, step)``, so a run resumed from its checkpoint ends bit-identical to an
uninterrupted one on the same device and thread count.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rdlab.core.torch_state import load_optimizer_tensors, optimizer_tensors, step_seed
from rdlab.models.learned.config import LearnedConfig
from rdlab.models.learned.network import LearnedModel


def _empty_sums() -> dict[str, float]:
    return {"mse": 0.0, "n_mse": 0, "w1": 0.0, "n_w1": 0}


@dataclass
class TrainState:
    """Training progress: steps done, the history and the sums of the epoch under way.

    ``history`` has one entry per epoch: ``train_mse``, the mean training-batch MSE per pixel of
    the epoch's coder steps, ``train_w1``, the mean W1 estimate of its critic steps (NaN, null in JSON,
    without a critic), and whatever the ``on_epoch`` hook of :func:`train_model` adds
    (``test_mse`` with ``learned_run(track_test=True)``). ``sums`` accumulates the epoch under
    way, so a run cut in the middle of an epoch and resumed logs the same means.
    """

    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    sums: dict[str, float] = field(default_factory=_empty_sums)

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> TrainState:
        """The state saved in a training checkpoint's metadata."""
        return cls(
            step=int(meta["step"]),
            history=list(meta.get("history", [])),
            sums={**_empty_sums(), **meta.get("sums", {})},
        )

    def add(self, key: str, value: float) -> None:
        """Count one step's ``value`` of ``key`` ("mse" or "w1") into the epoch under way."""
        self.sums[key] += value
        self.sums[f"n_{key}"] += 1

    def log_epoch(self, epoch: int, **extra: float) -> None:
        """Close epoch ``epoch`` (1-based): append its means and ``extra`` fields to the history."""
        s = self.sums
        mean = {k: s[k] / s[f"n_{k}"] if s[f"n_{k}"] else math.nan for k in ("mse", "w1")}
        self.history.append(
            {"epoch": epoch, "train_mse": mean["mse"], "train_w1": mean["w1"], **extra}
        )
        self.sums = _empty_sums()


def gradient_penalty(critic: Any, real: Any, fake: Any, generator: Any):
    r"""WGAN-GP penalty :math:`\mathbb E(\|\nabla h(\tilde x)\| - 1)^2` on random interpolates
    :math:`\tilde x = a x + (1 - a) \hat x`, :math:`a \sim U[0, 1]` per image (Gulrajani et al.).
    """
    import torch

    a = torch.rand(real.shape[0], 1, 1, 1, generator=generator, device=real.device)
    mix = (a * real + (1 - a) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mix).sum(), mix, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def _lr_factor(cfg: LearnedConfig, epoch: int) -> float:
    return cfg.lr_decay_factor ** sum(1 for e in cfg.lr_decay_epochs if epoch >= e)


def _set_training_modes(mods: dict[str, Any], parts: tuple[str, ...]) -> None:
    """Trained parts and the critic in train mode; frozen parts in eval mode, without gradients."""
    for name, m in mods.items():
        m.train(name in parts or name == "critic")
        for p in m.parameters():
            p.requires_grad_(name in parts or name == "critic")


def trainable_parts(cfg: LearnedConfig) -> tuple[str, ...]:
    """Modules the coder optimiser updates in each mode."""
    if cfg.mode == "end-to-end":
        return ("encoder", "decoder")
    if cfg.mode == "universal":
        return ("decoder",)
    return ("refiner", "decoder")


def steps_per_epoch(cfg: LearnedConfig, n_train: int) -> int:
    """Batches of ``cfg.batch_size`` in one epoch of ``n_train`` images (the rest is dropped)."""
    return n_train // cfg.batch_size


def train_model(
    model: LearnedModel,
    x_train: Any,
    *,
    seed: int,
    state: TrainState | None = None,
    tensors: dict[str, Any] | None = None,
    on_checkpoint: Callable[[TrainState, dict[str, Any]], None] | None = None,
    checkpoint_every: int | None = None,
    stop_after: int | None = None,
    on_epoch: Callable[[LearnedModel], dict[str, float]] | None = None,
    progress: bool = False,
    desc: str = "lc",
) -> TrainState:
    """Train ``model`` on ``x_train`` (float32 tensor (n, C, H, W) in [0, 1]) per its config.

    ``tensors`` holds optimizer states from a checkpoint (``optim_coder.*``,
    ``optim_critic.*``). ``on_checkpoint(state, optimizer_tensors)`` is called every
    ``checkpoint_every`` steps (default: each epoch) and at the end; ``stop_after`` ends the run
    after that many steps in total (as an interruption would), checkpointing first.
    ``on_epoch(model)`` runs at the end of each epoch and returns fields for that epoch's
    history entry (e.g. a test MSE); it may switch modules to eval mode and must not touch
    their parameters or the global random state. Training resumes in the right modes after it.
    """
    import torch
    from tqdm.auto import tqdm

    cfg = model.config
    n = int(x_train.shape[0])
    per_epoch = steps_per_epoch(cfg, n)
    if per_epoch < 1:
        raise ValueError(
            f"the training set has {n} images, fewer than one batch of {cfg.batch_size}"
        )
    total = per_epoch * cfg.epochs
    every = checkpoint_every or per_epoch
    state = state or TrainState()
    mods = model.modules()
    parts = trainable_parts(cfg)
    coder_params = [p for name in parts for p in mods[name].parameters()]
    opt_coder = torch.optim.Adam(coder_params, lr=cfg.lr_coder, betas=cfg.betas_coder)
    opt_critic = torch.optim.Adam(
        model.critic.parameters(), lr=cfg.lr_critic, betas=cfg.betas_critic
    )
    if tensors:
        load_optimizer_tensors(opt_coder, tensors, "optim_coder")
        load_optimizer_tensors(opt_critic, tensors, "optim_critic")
    # Frozen parts stay in eval mode: parameters and BatchNorm statistics never change.
    _set_training_modes(mods, parts)
    cycle = cfg.n_critic + 1
    end = total if stop_after is None else min(total, stop_after)
    bar = tqdm(total=total, initial=state.step, desc=desc, disable=not progress, leave=False)
    perm_epoch, perm = -1, None
    mse_log = w1_log = math.nan  # last batch's, for the progress bar
    try:
        while state.step < end:
            t = state.step
            epoch, pos = divmod(t, per_epoch)
            if epoch != perm_epoch:
                perm = torch.as_tensor(np.random.default_rng([seed, epoch]).permutation(n))
                perm_epoch = epoch
            coder_step = pos % cycle == 1 % cycle
            lam = cfg.lam_at(epoch)
            if coder_step or cfg.critic_trains_at(epoch):
                x = x_train[perm[pos * cfg.batch_size : (pos + 1) * cfg.batch_size]]
                x = x.to(model.device)
                g = torch.Generator(device=model.device)
                g.manual_seed(step_seed(seed, t))
                u = model.noise(x.shape[0], g)
                factor = _lr_factor(cfg, epoch)
                for group in opt_coder.param_groups:
                    group["lr"] = cfg.lr_coder * factor
                for group in opt_critic.param_groups:
                    group["lr"] = cfg.lr_critic * factor
                soft = epoch < cfg.soft_epochs
                if coder_step:
                    x_hat = model.reconstruct(x, u, soft=soft)
                    mse = torch.mean((x_hat - x) ** 2)
                    loss = mse
                    if lam > 0:
                        model.critic.requires_grad_(False)
                        loss = mse - lam * model.critic(x_hat).mean()
                        model.critic.requires_grad_(True)
                    opt_coder.zero_grad(set_to_none=True)
                    loss.backward()
                    opt_coder.step()
                    mse_log = float(mse.detach())
                    state.add("mse", mse_log)
                else:
                    with torch.no_grad():
                        x_hat = model.reconstruct(x, u, soft=soft)
                    w1 = model.critic(x).mean() - model.critic(x_hat).mean()
                    gp = gradient_penalty(model.critic, x, x_hat, g)
                    loss = -w1 + cfg.gp_weight * gp
                    opt_critic.zero_grad(set_to_none=True)
                    loss.backward()
                    opt_critic.step()
                    w1_log = float(w1.detach())
                    state.add("w1", w1_log)
            state.step = t + 1
            if state.step % per_epoch == 0:
                extra = {}
                if on_epoch is not None:
                    extra = on_epoch(model)
                    _set_training_modes(mods, parts)
                state.log_epoch(state.step // per_epoch, **extra)
            bar.set_postfix(mse=f"{mse_log:.4f}", w1=f"{w1_log:.3f}", refresh=False)
            bar.update(1)
            if on_checkpoint is not None and (state.step % every == 0 or state.step == end):
                on_checkpoint(
                    state,
                    {
                        **optimizer_tensors(opt_coder, "optim_coder"),
                        **optimizer_tensors(opt_critic, "optim_critic"),
                    },
                )
    finally:
        bar.close()
        for m in mods.values():
            m.requires_grad_(True)
    return state


def resume_train_state(
    rd: Any, model: Any, architecture: dict[str, Any], name: str = "train"
) -> tuple[TrainState, dict[str, Any] | None]:
    """The training state saved in run directory ``rd``'s checkpoint ``name``: loads the
    weights into ``model`` (anything with ``load_state_tensors``) and returns the
    :class:`TrainState` and the optimiser tensors (a fresh state and None without one)."""
    if not rd.has_checkpoint(name):
        return TrainState(), None
    tensors, meta = rd.load_checkpoint(name, architecture=architecture, required=("step",))
    model.load_state_tensors(tensors)
    optim = {k: v for k, v in tensors.items() if k.startswith("optim_")}
    return TrainState.from_metadata(meta), optim


def train_state_saver(
    rd: Any, model: Any, architecture: dict[str, Any], name: str = "train"
) -> Callable[[TrainState, dict[str, Any]], None]:
    """``on_checkpoint`` of a training loop: writes ``model``'s weights, the optimiser tensors
    and the :class:`TrainState` to ``rd``'s checkpoint ``name`` (what
    :func:`resume_train_state` reads)."""

    def save(state: TrainState, optim: dict[str, Any]) -> None:
        rd.save_checkpoint(
            name,
            {**model.state_tensors(), **optim},
            {"step": state.step, "history": state.history, "sums": state.sums},
            architecture=architecture,
        )

    return save


__all__ = [
    "TrainState",
    "gradient_penalty",
    "resume_train_state",
    "steps_per_epoch",
    "train_model",
    "train_state_saver",
    "trainable_parts",
]
