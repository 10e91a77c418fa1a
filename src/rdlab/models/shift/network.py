"""The networks of seed 003 (Tables 12-15) and the model of one stage.

Architectures (B.8; the tables are garbled in the text — their column headers are shifted — so
the layer sizes follow the official code where it has them, and our choices where it has not):

- super-resolution encoder (Table 12; official ``Encoder_mnist``): Conv 5x5/2 (32), Conv 5x5/2
  (64), Linear 128, Linear 128, Linear d, tanh, leaky ReLUs; decoder: the seed-001 MNIST decoder
  (Linear 128, Linear 512, ConvT 5/2 to 11x11, ConvT 5/2 to 25x25, ConvT 4/1 to 28x28, sigmoid;
  identical to the official ``Decoder_mnist``);
- denoising encoder and decoder (Table 14): the seed-001 SVHN encoder and decoder (identical
  to the official ``Encoder_svhn`` / ``Decoder_svhn``);
- critic: the seed-001 critic of the family (three Conv 5x5/2 of 64, 128, 256, Linear);
- two-branch decoders g1, g2 (Tables 13, 15): super-resolution — the end-to-end decoder (its
  last ConvT has no BatchNorm in both); denoising — Linear/BatchNorm stack, then ConvT (64),
  ResBlock, ConvT (108), ResBlock, ConvT (128), ResBlock, ConvT (3), sigmoid, where a ResBlock
  is x + Conv3x3(lReLU(Conv3x3(x))) (Table 15 gives no widths: ours are the end-to-end
  decoder's);
- the baseline's U-Net (B.5, no table in the paper; ours): two down steps (Conv 3x3 pairs of
  ``w``, ``2w``, bottleneck ``4w``, average pooling), nearest upsampling, skip connections by
  concatenation, Conv 1x1 and sigmoid.

The modules of each stage (frozen ones come from the base run and stay in eval mode):

=====================  ====================================  ==============================
stage                  trained                               frozen (from the base run)
=====================  ====================================  ==============================
``end-to-end``         encoder, decoder (+ critic)           —
``two-branch``         decoder1, decoder2                    encoder, decoder
``separate``           encoder1, decoder1, encoder2,         encoder, decoder
                       decoder2
``restore``            unet (+ critic)                       —
``restore-compress``   encoder, decoder (+ critic)           unet
=====================  ====================================  ==============================
"""

from __future__ import annotations

from typing import Any

from rdlab.coding.quantizers import ScalarQuantizer
from rdlab.models.architectures import build_critic, build_decoder, build_encoder
from rdlab.models.shift.config import CRITIC_STAGES, TASK_DATA, ShiftConfig

TRAINED = {
    "end-to-end": ("encoder", "decoder"),
    "two-branch": ("decoder1", "decoder2"),
    "separate": ("encoder1", "decoder1", "encoder2", "decoder2"),
    "restore": ("unet",),
    "restore-compress": ("encoder", "decoder"),
}
"""Modules the coder optimiser trains in each stage."""
FROZEN = {
    "end-to-end": (),
    "two-branch": ("encoder", "decoder"),
    "separate": ("encoder", "decoder"),
    "restore": (),
    "restore-compress": ("unet",),
}
"""Modules each stage loads from its base run and never changes."""


def sr_encoder(latent_dim: int):
    """Super-resolution encoder (Table 12): 28x28 image to ``latent_dim`` values in (-1, 1)."""
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(1, 32, 5, 2, 2),
        nn.LeakyReLU(),
        nn.Conv2d(32, 64, 5, 2, 2),
        nn.LeakyReLU(),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128),
        nn.LeakyReLU(),
        nn.Linear(128, 128),
        nn.LeakyReLU(),
        nn.Linear(128, latent_dim),
        nn.Tanh(),
    )


def _res_block(nn, c: int):
    class ResBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(c, c, 3, 1, 1), nn.LeakyReLU(), nn.Conv2d(c, c, 3, 1, 1)
            )

        def forward(self, x):
            return x + self.body(x)

    return ResBlock()


def denoise_branch_decoder(latent_dim: int):
    """Denoising two-branch decoder (Table 15): latents to a 3x32x32 image, with ResBlocks."""
    import torch.nn as nn

    return nn.Sequential(
        nn.Linear(latent_dim, 128),
        nn.BatchNorm1d(128),
        nn.LeakyReLU(),
        nn.Linear(128, 512),
        nn.BatchNorm1d(512),
        nn.LeakyReLU(),
        nn.Unflatten(1, (32, 4, 4)),
        nn.ConvTranspose2d(32, 64, 5, 2),
        nn.LeakyReLU(),
        _res_block(nn, 64),
        nn.ConvTranspose2d(64, 108, 5, 2),
        nn.LeakyReLU(),
        _res_block(nn, 108),
        nn.ConvTranspose2d(108, 128, 5, 1),
        nn.LeakyReLU(),
        _res_block(nn, 128),
        nn.ConvTranspose2d(128, 3, 4, 1),
        nn.Sigmoid(),
    )


def unet(channels: int, width: int):
    """The baseline's restorer (B.5): a two-level U-Net, image to image of the same size
    (sides divisible by 4), output in (0, 1)."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def pair(a: int, b: int):
        return nn.Sequential(
            nn.Conv2d(a, b, 3, 1, 1), nn.LeakyReLU(), nn.Conv2d(b, b, 3, 1, 1), nn.LeakyReLU()
        )

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            w = width
            self.down1, self.down2 = pair(channels, w), pair(w, 2 * w)
            self.bottom = pair(2 * w, 4 * w)
            self.up2, self.up1 = pair(4 * w + 2 * w, 2 * w), pair(2 * w + w, w)
            self.out = nn.Conv2d(w, channels, 1)

        def forward(self, x):
            s1 = self.down1(x)
            s2 = self.down2(F.avg_pool2d(s1, 2))
            b = self.bottom(F.avg_pool2d(s2, 2))
            y = self.up2(torch.cat([F.interpolate(b, scale_factor=2.0), s2], 1))
            y = self.up1(torch.cat([F.interpolate(y, scale_factor=2.0), s1], 1))
            return torch.sigmoid(self.out(y))

    return UNet()


class ShiftModel:
    """The networks of one stage (module table above), the UQ quantiser and the dither.

    Parameters
    ----------
    config : ShiftConfig
    seed : int
        Seeds the initialisation (the global torch RNG is left as it was).
    device : str
    """

    def __init__(self, config: ShiftConfig, *, seed: int = 0, device: str = "cpu") -> None:
        import torch

        self.config = config
        self.device = device
        family = TASK_DATA[config.task]
        d, stage = config.latent_dim, config.stage
        self.quantizer = ScalarQuantizer("uq", config.levels, d, sigma=config.sigma)

        def encoder():
            return sr_encoder(d) if config.task == "sr" else build_encoder(family, d)

        def branch_decoder():
            if config.task == "sr":
                return build_decoder(family, d)
            return denoise_branch_decoder(d)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            mods: dict[str, Any] = {}
            if stage in ("end-to-end", "two-branch", "separate", "restore-compress"):
                mods["encoder"], mods["decoder"] = encoder(), build_decoder(family, d)
            if stage == "two-branch":
                mods["decoder1"], mods["decoder2"] = branch_decoder(), branch_decoder()
            if stage == "separate":
                mods["encoder1"], mods["decoder1"] = encoder(), branch_decoder()
                mods["encoder2"], mods["decoder2"] = encoder(), branch_decoder()
            if stage in ("restore", "restore-compress"):
                mods["unet"] = unet(3 if family == "svhn" else 1, config.unet_width)
            if stage in CRITIC_STAGES:
                mods["critic"] = build_critic(family)
        self._modules = {k: m.to(device) for k, m in mods.items()}

    # -- modules ----------------------------------------------------------------------------
    def modules(self) -> dict[str, Any]:
        return dict(self._modules)

    @property
    def critic(self):
        return self._modules.get("critic")

    @property
    def trained(self) -> tuple[str, ...]:
        return TRAINED[self.config.stage]

    @property
    def frozen(self) -> tuple[str, ...]:
        return FROZEN[self.config.stage]

    def __getitem__(self, name: str):
        return self._modules[name]

    def eval(self) -> ShiftModel:
        for m in self._modules.values():
            m.eval()
        return self

    def state_tensors(self) -> dict[str, Any]:
        out = {}
        for name, m in self._modules.items():
            out.update({f"{name}.{k}": v for k, v in m.state_dict().items()})
        return out

    def load_state_tensors(
        self, tensors: dict[str, Any], *, parts: tuple[str, ...] | None = None
    ) -> None:
        """Load ``{module.param: tensor}``; ``parts`` restricts to some modules."""
        for name in parts or tuple(self._modules):
            if name not in self._modules:
                raise ValueError(f"this model has no {name}")
            sub = {k[len(name) + 1 :]: v for k, v in tensors.items() if k.startswith(name + ".")}
            try:
                self._modules[name].load_state_dict(sub, strict=True)
            except RuntimeError as exc:
                raise ValueError(f"checkpoint does not fit the {name}: {exc}") from None

    # -- noise and coding -------------------------------------------------------------------
    def noise(self, n: int, generator: Any = None) -> tuple[Any, Any]:
        """The encoder's dither u1 and the decoder's u2 for ``n`` inputs: u2 is u1 with common
        randomness (eq. 14) and an independent draw without (eq. 16)."""
        u1 = self.quantizer.noise(n, generator, self.device)
        if self.config.common_randomness:
            return u1, u1
        return u1, self.quantizer.noise(n, generator, self.device)

    def code_input(self, x: Any):
        """What the encoder codes: the input, or the frozen U-Net's restoration of it."""
        import torch

        if self.config.stage != "restore-compress":
            return x
        with torch.no_grad():
            return self._modules["unet"](x)

    def decoder_input(self, z: Any, u1: Any, u2: Any):
        """The decoder's input for latents ``z``: :math:`c_s - u_2` with
        :math:`s = Q(z + u_1)` (hard value forward, the soft gradient backward)."""
        y = self.quantizer(z, u1)  # c_s - u1
        return y if u2 is u1 else y + (u1 - u2)

    def symbols(self, x: Any, u1: Any, encoder: str = "encoder"):
        """Sent symbols (n, d) int64 of inputs ``x`` (eval, no gradient)."""
        import torch

        with torch.no_grad():
            return self.quantizer.symbols(self._modules[encoder](self.code_input(x)), u1)

    def decode_symbols(self, s: Any, u2: Any, decoder: str = "decoder"):
        """Output of ``decoder`` for received symbols and the decoder's noise ``u2``."""
        import torch

        with torch.no_grad():
            return self._modules[decoder](self.quantizer.decoder_input(s, u2))


__all__ = [
    "FROZEN",
    "TRAINED",
    "ShiftModel",
    "denoise_branch_decoder",
    "sr_encoder",
    "unet",
]
