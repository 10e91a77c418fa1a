"""Small codecs of each kind (no training), shared by the codec and bitstream-fuzz tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rdlab.coding.categorical import CategoricalModel
from rdlab.coding.codec import Codec
from rdlab.coding.learned import QuantizedLatentCodec
from rdlab.coding.pq import PQCodec, ProductQuantizer
from rdlab.coding.rcc import RCCCodec

DATA = Path(__file__).parent / "data"


def toy_learned() -> QuantizedLatentCodec:
    """The learned codec of docs/bitstream.md: inputs (1, 28, 28) whose first three pixels
    of row 0 are the symbols; levels (3, 3, 8); identity that of the coding model."""
    quarter = np.array([0.5, 0.25, 0.25])
    model = CategoricalModel((quarter, quarter, np.full(8, 0.125)))

    def analysis(x, u):
        return np.rint(x[:, 0, 0, :3]).astype(np.int64)

    def synthesis(s, u):
        out = np.zeros((s.shape[0], 1, 28, 28), dtype=np.float32)
        out[:, 0, 0, :3] = s
        return out

    return QuantizedLatentCodec(analysis, synthesis, model, "uq", (1, 28, 28), model.identity())


def learned_input() -> np.ndarray:
    x = np.zeros((2, 1, 28, 28), dtype=np.float32)
    x[:, 0, 0, :3] = [[0, 1, 5], [2, 0, 7]]
    return x


def toy_pq() -> ProductQuantizer:
    """The shipped quantiser of the golden stream (fitted once, see make_pq_file)."""
    return ProductQuantizer.load(DATA / "pq_golden.safetensors")


def pq_queries() -> np.ndarray:
    return np.round(np.cos(np.arange(40.0)).reshape(5, 8) * 3, 2)


def make_pq_file(path: Path) -> None:
    rng = np.random.default_rng(7)
    centres = rng.normal(scale=4.0, size=(16, 8))
    x = centres[rng.integers(0, 16, 2000)] + 0.3 * rng.normal(size=(2000, 8))
    ProductQuantizer.fit(x, (4, 4), 8, seed=3).save(path, overwrite=True)


def toy_codecs() -> dict[str, Codec]:
    return {
        "rcc": RCCCodec.gaussian("gaussian:1", distortion=0.25, n_candidates=64),
        "learned": toy_learned(),
        "pq": PQCodec(toy_pq()),
    }


def toy_inputs() -> dict[str, np.ndarray]:
    return {"rcc": np.linspace(-1.5, 1.5, 12), "learned": learned_input(), "pq": pq_queries()}
