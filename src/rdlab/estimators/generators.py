r"""Generators :math:`G_\theta: \mathbb{R}^{m_z} \to \mathcal{Y}` that parametrise the output law
:math:`Q_Y = G_{\theta*} N(0, I)` of the neural rate-distortion estimator (seed 002, §III and
Appendix C).

A registry maps a name to a factory, so that the estimator, the command line and checkpoints
refer to an architecture by name::

    @register_generator("name", "one-line description")
    def _make(output_shape, latent_dim, **params) -> torch.nn.Module: ...

Every generator built by :func:`make_generator` carries ``architecture`` — a JSON-ready dict
``{"name", "output_shape", "latent_dim", "params"}`` — which checkpoints record and compare on
loading, so that weights written by one architecture are never read into another.

torch is imported inside the factories, never when this module is imported.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rdlab.core.torch_state import build_bounded
from rdlab.core.validation import check_int


@dataclass(frozen=True)
class GeneratorSpec:
    name: str
    description: str
    factory: Callable[..., Any]
    default_latent_dim: Callable[[tuple[int, ...]], int]


GENERATORS: dict[str, GeneratorSpec] = {}


def register_generator(
    name: str, description: str, *, default_latent_dim: Callable[[tuple[int, ...]], int]
):
    """Decorator: register ``factory(output_shape, latent_dim, **params) -> torch.nn.Module``."""

    def decorator(factory: Callable[..., Any]) -> Callable[..., Any]:
        if name in GENERATORS:
            raise ValueError(f"generator {name!r} is registered twice")
        GENERATORS[name] = GeneratorSpec(name, description, factory, default_latent_dim)
        return factory

    return decorator


def _shape(output_shape: object) -> tuple[int, ...]:
    if isinstance(output_shape, int):
        output_shape = (output_shape,)
    try:
        shape = tuple(int(s) for s in output_shape)  # type: ignore[union-attr]
    except TypeError:
        raise TypeError(f"output_shape must be a tuple of ints, got {output_shape!r}") from None
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"output_shape must be a non-empty tuple of positive ints, got {shape}")
    return shape


def make_generator(
    name: str, output_shape: object, latent_dim: int | None = None, **params: Any
) -> Any:
    """Build the registered generator ``name`` for samples of shape ``output_shape``.

    Parameters
    ----------
    name : str
        ``"mlp"`` (vector sources) or ``"dcgan"`` (images), or any registered name.
    output_shape : int or tuple of int
        Shape of one reproduction: ``(m,)`` for vectors, ``(C, H, W)`` for images.
    latent_dim : int, optional
        Dimension :math:`m_z` of the standard normal input; the architecture's default
        (``m`` for the MLP, 128 for DCGAN) when omitted.
    **params
        Architecture parameters (``width`` for the MLP, ``channels`` for DCGAN).

    Returns
    -------
    torch.nn.Module
        Maps ``(n, latent_dim)`` to ``(n, *output_shape)``; has ``.architecture`` and
        ``.latent_dim``.
    """
    if name not in GENERATORS:
        raise ValueError(f"unknown generator {name!r}; known: {', '.join(sorted(GENERATORS))}")
    spec = GENERATORS[name]
    shape = _shape(output_shape)
    if latent_dim is None:
        latent_dim = spec.default_latent_dim(shape)
    latent = check_int("latent_dim", latent_dim, minimum=1)
    module = build_bounded(
        lambda: spec.factory(shape, latent, **params),
        f"the {name} generator of output shape {shape}, latent_dim {latent} and {params}",
    )
    module.latent_dim = latent
    module.output_shape = shape
    module.architecture = {
        "name": name,
        "output_shape": list(shape),
        "latent_dim": latent,
        "params": dict(sorted(module.arch_params.items())),
    }
    return module


def _mlp_latent(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


@register_generator(
    "mlp",
    "fully connected, 2 hidden layers of width m with ReLU (seed 002, App. C; vector sources)",
    default_latent_dim=_mlp_latent,
)
def _mlp(output_shape: tuple[int, ...], latent_dim: int, width: int | None = None) -> Any:
    import torch
    from torch import nn

    m = math.prod(output_shape)
    w = m if width is None else check_int("width", width, minimum=1)

    class MLPGenerator(nn.Module):
        """z -> Linear(m_z, w) -> ReLU -> Linear(w, w) -> ReLU -> Linear(w, m)."""

        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(latent_dim, w),
                nn.ReLU(),
                nn.Linear(w, w),
                nn.ReLU(),
                nn.Linear(w, m),
            )
            self.arch_params = {"width": w}

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return self.net(z).reshape(z.shape[0], *output_shape)

    return MLPGenerator()


def _dcgan_latent(shape: tuple[int, ...]) -> int:
    return 128


@register_generator(
    "dcgan",
    "DCGAN: latent 128 -> 8c_d x h x w, transposed convolutions halving channels, sigmoid output "
    "(seed 002, App. C; images C x H x W with H, W multiples of 2^layers)",
    default_latent_dim=_dcgan_latent,
)
def _dcgan(
    output_shape: tuple[int, ...], latent_dim: int, channels: int = 32, layers: int = 4
) -> Any:
    import torch
    from torch import nn

    if len(output_shape) != 3:
        raise ValueError(
            f"the dcgan generator makes images (C, H, W); got output_shape {output_shape}"
        )
    c_d = check_int("channels", channels, minimum=1)
    n_layers = check_int("layers", layers, minimum=1, maximum=8)
    c_out, h, w = output_shape
    scale = 2**n_layers
    if h % scale or w % scale:
        raise ValueError(
            f"dcgan with {n_layers} layers needs H and W divisible by {scale}; got {h}x{w} "
            "(pad the images or use fewer layers)"
        )
    h0, w0 = h // scale, w // scale
    widths = [c_d * 2 ** (n_layers - 1 - i) for i in range(n_layers)]  # 8c, 4c, 2c, c for 4

    class DCGANGenerator(nn.Module):
        """Linear projection to ``widths[0] x h0 x w0``, then ``layers`` stride-2 transposed
        convolutions (kernel 4, padding 1) with ReLU in between and a sigmoid at the output."""

        def __init__(self) -> None:
            super().__init__()
            self.project = nn.Sequential(nn.Linear(latent_dim, widths[0] * h0 * w0), nn.ReLU())
            blocks: list[nn.Module] = []
            for i, c_in in enumerate(widths):
                last = i == n_layers - 1
                c_next = c_out if last else widths[i + 1]
                blocks.append(nn.ConvTranspose2d(c_in, c_next, 4, 2, 1))
                blocks.append(nn.Sigmoid() if last else nn.ReLU())
            self.deconv = nn.Sequential(*blocks)
            self.arch_params = {"channels": c_d, "layers": n_layers}

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            x = self.project(z).reshape(z.shape[0], widths[0], h0, w0)
            return self.deconv(x)

        def init_output_mean(self, channel_means: Any) -> None:
            """Set the output bias to logit(mean) per channel, so the first images have the
            data's mean brightness.

            From the default initialisation (outputs near 0.5 against MNIST's mean pixel 0.13)
            the first Adam steps drive the sigmoid into saturation at 0 everywhere, where the
            gradient underflows: an all-black generator for good (docs/errata.md).
            """
            m = torch.as_tensor(channel_means, dtype=torch.float64).reshape(-1)
            if m.numel() != c_out:
                raise ValueError(f"channel_means needs {c_out} values, got {m.numel()}")
            m = m.clamp(1e-3, 1.0 - 1e-3)
            last = self.deconv[-2]
            with torch.no_grad():
                last.bias.copy_(torch.log(m / (1.0 - m)).to(last.bias.dtype))

    return DCGANGenerator()


__all__ = ["GENERATORS", "GeneratorSpec", "make_generator", "register_generator"]
