"""The networks of a learned codec: encoder(s), scalar quantiser(s), decoder and critic."""

from __future__ import annotations

from typing import Any

from rdlab.coding.quantizers import ScalarQuantizer
from rdlab.core.torch_state import build_bounded, check_device, step_seed
from rdlab.models.architectures import IMAGE_SHAPES, build_critic, build_decoder, build_encoder
from rdlab.models.learned.config import LearnedConfig


class LearnedModel:
    """Encoder(s), quantiser(s), decoder and critic of one configuration (torch modules).

    Attributes
    ----------
    encoder, refiner, decoder, critic : torch.nn.Module
        ``refiner`` is None unless ``config.mode == "refinement"``.
    quantizers : list of ScalarQuantizer
        One per code (base, then refining).
    """

    def __init__(self, config: LearnedConfig, seed: int = 0, device: str = "cpu") -> None:
        import torch

        self.config = config
        self.device = check_device(device)
        fam = config.family
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(step_seed(seed, 10**9))
            self.encoder, self.refiner, self.decoder, self.critic = build_bounded(
                lambda: (
                    build_encoder(fam, config.latent_dim, config.encoder_width),
                    build_encoder(fam, config.refine_latent_dim, config.refine_width)
                    if config.mode == "refinement"
                    else None,
                    build_decoder(fam, config.latent_dim + config.refine_latent_dim),
                    build_critic(fam),
                ),
                f"a learned codec of latent_dim={config.latent_dim}, "
                f"encoder_width={config.encoder_width}",
            )
        for m in self.modules().values():
            m.to(self.device)
        codes = [(config.levels, config.latent_dim)]
        if self.refiner is not None:
            codes.append((config.refine_levels, config.refine_latent_dim))
        self.quantizers = [
            ScalarQuantizer(
                config.quantizer, levels, dim, sigma=config.sigma, gradient=config.gradient
            )
            for levels, dim in codes
        ]
        self.image_shape = IMAGE_SHAPES[fam]

    def modules(self) -> dict[str, Any]:
        mods = {"encoder": self.encoder, "decoder": self.decoder, "critic": self.critic}
        if self.refiner is not None:
            mods["refiner"] = self.refiner
        return mods

    @property
    def code_dim(self) -> int:
        return sum(q.dim for q in self.quantizers)

    def noise(self, n: int, generator: Any = None):
        """u of every code, concatenated: (n, code_dim), column j ~ U[-Δ_j/2, Δ_j/2)."""
        import torch

        return torch.cat([q.noise(n, generator, self.device) for q in self.quantizers], dim=1)

    def _split(self, t: Any) -> list[Any]:
        out, start = [], 0
        for q in self.quantizers:
            out.append(t[:, start : start + q.dim])
            start += q.dim
        return out

    def latents(self, x: Any):
        """Encoder outputs of every code, concatenated (before quantisation)."""
        import torch

        z = [self.encoder(x)]
        if self.refiner is not None:
            z.append(self.refiner(x))
        return torch.cat(z, dim=1)

    def reconstruct(self, x: Any, u: Any, *, soft: bool = False):
        """Training path: x -> latents -> quantiser (hard forward, soft gradient) -> decoder.

        ``soft=True``: the soft assignment forward too (the ``soft_epochs`` warm-up).
        """
        import torch

        z = self._split(self.latents(x))
        us = self._split(u)
        y = torch.cat(
            [q(zi, ui, soft=soft) for q, zi, ui in zip(self.quantizers, z, us, strict=True)], 1
        )
        return self.decoder(y)

    def symbols(self, x: Any, u: Any):
        """Sent symbols, (n, code_dim) int64."""
        import torch

        z = self._split(self.latents(x))
        us = self._split(u)
        return torch.cat(
            [q.symbols(zi, ui) for q, zi, ui in zip(self.quantizers, z, us, strict=True)], 1
        )

    def decode_symbols(self, symbols: Any, u: Any):
        """Decoder output for received symbols and the noise u."""
        import torch

        ss = self._split(symbols)
        us = self._split(u)
        y = torch.cat(
            [q.decoder_input(si, ui) for q, si, ui in zip(self.quantizers, ss, us, strict=True)],
            1,
        )
        return self.decoder(y)

    def eval(self) -> LearnedModel:
        for m in self.modules().values():
            m.eval()
        return self

    def state_tensors(self) -> dict[str, Any]:
        out = {}
        for name, m in self.modules().items():
            out.update({f"{name}.{k}": v for k, v in m.state_dict().items()})
        return out

    def load_state_tensors(self, tensors: dict[str, Any], *, parts: tuple[str, ...] | None = None):
        """Load ``{part.param: tensor}``; ``parts`` restricts to some modules."""
        mods = self.modules()
        for name in parts or tuple(mods):
            sub = {k[len(name) + 1 :]: v for k, v in tensors.items() if k.startswith(name + ".")}
            if name not in mods:
                raise ValueError(f"this model has no {name}")
            try:
                mods[name].load_state_dict(sub, strict=True)
            except RuntimeError as exc:
                raise ValueError(f"checkpoint does not fit the {name}: {exc}") from None


__all__ = ["LearnedModel"]
