r"""Training of the seed-003 stages (Liu et al. 2022, Sec. 3 and B.3).

Every step draws a batch of degraded inputs X (clean training images degraded on the fly,
:mod:`rdlab.sources.degradations`, noise seeded by ``(seed, step)``) and — for the critic — a
batch of clean images Y from an independent shuffle of the training split (**unpaired**: no loss
ever compares an output with the ground truth of its input). Coder and critic steps alternate
on successive batches (``n_critic`` critic batches, then one coder batch, as the official code
with ``n_critic = 1``); stages without a W1 term train the coder on every batch. Losses, with
MSE the mean squared error per pixel and :math:`\widehat{W_1} = E\,h(Y) - E\,h(\cdot)`:

- ``end-to-end`` (eq. 15): :math:`\mathrm{MSE}(X, \tilde Y) - \lambda E\,h(\tilde Y)`,
  :math:`\tilde Y = g(Q(f(X) + U_1) - U_2)`, :math:`U_2 = U_1` with common randomness (eq. 14)
  and independent without (eq. 16);
- ``two-branch`` (eq. 18): :math:`\mathrm{MSE}(X, \tilde Y_1) + \mathrm{MSE}(\tilde Y,
  \tilde Y_2) + \mathrm{MSE}(\tilde Y_1, \tilde Y_2)`, both decoders reading the frozen
  encoder's decoder input, :math:`\tilde Y` the frozen end-to-end output;
- ``separate``: (18a) for f1, g1 plus (18b) for f2, g2 — disjoint parameters and Adam's
  per-parameter steps make this exactly two separate trainings on the same batches;
- ``restore`` (eq. 70): :math:`\mathrm{MSE}(X, U(X)) - \lambda_1 E\,h(U(X))`;
- ``restore-compress`` (eq. 71): :math:`\mathrm{MSE}(\tilde Y, Y^+) - \lambda_2 E\,h(Y^+)`,
  :math:`\tilde Y = U(X)` of the frozen U-Net and :math:`Y^+` the compressor's output.

The critic maximises :math:`\widehat{W_1}` minus the gradient penalty (weight ``gp_weight``).
A run resumed from its checkpoint ends bit-identical to an uninterrupted one on the same
device and thread count: data order, noise and dither derive from ``(seed, step)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from rdlab.core.torch_state import load_optimizer_tensors, optimizer_tensors, step_seed
from rdlab.models.learned import TrainState, gradient_penalty
from rdlab.models.shift.network import ShiftModel


def steps_per_epoch(batch_size: int, n_train: int) -> int:
    """Batches in one epoch of ``n_train`` images (the last partial batch is dropped)."""
    return n_train // batch_size


def degraded_batch(model: ShiftModel, clean: np.ndarray, seed: int, step: int):
    """The degraded inputs of training step ``step`` as a tensor on the model's device."""
    import torch

    x = model.config.degradation.apply(clean, seed=step_seed(seed, 2 * step + 1))
    return torch.from_numpy(x).to(model.device)


def coder_forward(model: ShiftModel, x: Any, u1: Any, u2: Any) -> tuple[Any, Any]:
    """``(mse_loss, output_for_the_critic)`` of one coder step (the stage's loss without the
    W1 term; the output is None in stages without a critic)."""
    import torch

    stage = model.config.stage

    def mse(a, b):
        return torch.mean((a - b) ** 2)

    if stage in ("end-to-end", "restore-compress"):
        src = model.code_input(x)
        y = model["decoder"](model.decoder_input(model["encoder"](src), u1, u2))
        return mse(y, src), y
    if stage == "restore":
        y = model["unet"](x)
        return mse(y, x), y
    with torch.no_grad():
        v = model.decoder_input(model["encoder"](x), u1, u2)
        y_tilde = model["decoder"](v)
    if stage == "two-branch":
        y1, y2 = model["decoder1"](v), model["decoder2"](v)
        return mse(x, y1) + mse(y_tilde, y2) + mse(y1, y2), None
    y1 = model["decoder1"](model.decoder_input(model["encoder1"](x), u1, u2))
    y2 = model["decoder2"](model.decoder_input(model["encoder2"](x), u1, u2))
    return mse(x, y1) + mse(y_tilde, y2), None


def _set_modes(model: ShiftModel) -> None:
    """Trained parts and the critic in train mode; frozen parts in eval mode, without grads."""
    for name, m in model.modules().items():
        trains = name in model.trained or name == "critic"
        m.train(trains)
        m.requires_grad_(trains)


def train_shift(
    model: ShiftModel,
    clean: np.ndarray,
    *,
    seed: int,
    state: TrainState | None = None,
    tensors: dict[str, Any] | None = None,
    on_checkpoint: Callable[[TrainState, dict[str, Any]], None] | None = None,
    checkpoint_every: int | None = None,
    stop_after: int | None = None,
    progress: bool = False,
    desc: str = "shift",
) -> TrainState:
    """Train ``model``'s stage on the clean training images ``clean`` (float32 (n, C, H, W)
    in [0, 1]); see the module docstring for the losses.

    ``tensors`` holds optimiser states of a checkpoint; ``on_checkpoint(state, optimizer
    tensors)`` runs every ``checkpoint_every`` steps (default: each epoch) and at the end;
    ``stop_after`` ends after that many steps in total (as an interruption would).

    References
    ----------
    .. [1] H. Liu, G. Zhang, J. Chen, A. Khisti, "Cross-Domain Lossy Compression as Entropy
       Constrained Optimal Transport", 2022, Sec. 3.1 eq. (13)-(16), Sec. 3.2 eq. (18),
       Appendix B.3 and B.5 eq. (70)-(71).
    """
    import torch
    from tqdm.auto import tqdm

    cfg = model.config
    n = int(clean.shape[0])
    per_epoch = steps_per_epoch(cfg.batch_size, n)
    if per_epoch < 1:
        raise ValueError(
            f"the training set has {n} images, fewer than one batch of {cfg.batch_size}"
        )
    total = per_epoch * cfg.epochs
    every = checkpoint_every or per_epoch
    state = state or TrainState()
    params = [p for name in model.trained for p in model[name].parameters()]
    opt_coder = torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas)
    opt_critic = None
    if cfg.uses_critic:
        opt_critic = torch.optim.Adam(model.critic.parameters(), lr=cfg.lr, betas=cfg.betas)
    if tensors:
        load_optimizer_tensors(opt_coder, tensors, "optim_coder")
        if opt_critic is not None:
            load_optimizer_tensors(opt_critic, tensors, "optim_critic")
    _set_modes(model)
    cycle = cfg.n_critic + 1 if cfg.uses_critic else 1
    end = total if stop_after is None else min(total, stop_after)
    bar = tqdm(total=total, initial=state.step, desc=desc, disable=not progress, leave=False)
    perm_epoch, perm_in, perm_clean = -1, None, None
    mse_log = w1_log = math.nan
    try:
        while state.step < end:
            t = state.step
            epoch, pos = divmod(t, per_epoch)
            if epoch != perm_epoch:
                perm_in = np.random.default_rng([seed, epoch, 0]).permutation(n)
                perm_clean = np.random.default_rng([seed, epoch, 1]).permutation(n)
                perm_epoch = epoch
            batch = slice(pos * cfg.batch_size, (pos + 1) * cfg.batch_size)
            x = degraded_batch(model, clean[perm_in[batch]], seed, t)
            g = torch.Generator(device=model.device)
            g.manual_seed(step_seed(seed, 2 * t))
            u1, u2 = model.noise(x.shape[0], g)
            factor = cfg.lr_factor(epoch)
            for opt in (opt_coder, opt_critic):
                for group in opt.param_groups if opt is not None else ():
                    group["lr"] = cfg.lr * factor
            if pos % cycle == 1 % cycle:
                loss, y = coder_forward(model, x, u1, u2)
                mse_log = float(loss.detach())
                if cfg.uses_critic:
                    model.critic.requires_grad_(False)
                    loss = loss - cfg.lam * model.critic(y).mean()
                    model.critic.requires_grad_(True)
                opt_coder.zero_grad(set_to_none=True)
                loss.backward()
                opt_coder.step()
                state.add("mse", mse_log)
            else:
                real = torch.from_numpy(clean[perm_clean[batch]]).to(model.device)
                with torch.no_grad():
                    _, fake = coder_forward(model, x, u1, u2)
                w1 = model.critic(real).mean() - model.critic(fake).mean()
                gp = gradient_penalty(model.critic, real, fake, g)
                opt_critic.zero_grad(set_to_none=True)
                (-w1 + cfg.gp_weight * gp).backward()
                opt_critic.step()
                w1_log = float(w1.detach())
                state.add("w1", w1_log)
            state.step = t + 1
            if state.step % per_epoch == 0:
                state.log_epoch(state.step // per_epoch)
            bar.set_postfix(mse=f"{mse_log:.4f}", w1=f"{w1_log:.3f}", refresh=False)
            bar.update(1)
            if on_checkpoint is not None and (state.step % every == 0 or state.step == end):
                optim = optimizer_tensors(opt_coder, "optim_coder")
                if opt_critic is not None:
                    optim.update(optimizer_tensors(opt_critic, "optim_critic"))
                on_checkpoint(state, optim)
    finally:
        bar.close()
        for m in model.modules().values():
            m.requires_grad_(True)
    return state


__all__ = ["coder_forward", "degraded_batch", "steps_per_epoch", "train_shift"]
