"""Run directories: where a training run keeps its configuration, results, plots and checkpoints.

Layout of ``runs/<name>/``::

    config.json                 what the run is (written when it starts)
    results.json                what it found (written when it ends)
    samples.png, training.png   figures (``RunDir.FIGURES``)
    <name>.safetensors          checkpoints (weights, optimizer state, step), written atomically

Rules:

- an existing run is never overwritten unless ``overwrite=True`` and never silently
  continued: ``resume=True`` continues it only if its ``config.json`` equals the new
  configuration (the differing keys are named otherwise);
- ``overwrite=True`` removes the run's own files only (the names above; a safetensors file
  only if it is an rdlab checkpoint): anything else in the folder stays; a new run in a folder
  that holds no run but files of those names needs ``overwrite=True`` too;
- checkpoints are safetensors files (never pickle); their metadata records a format version,
  the architecture of the model that wrote them and the training step, and loading one written
  by another architecture raises a clear :class:`ValueError`.

torch and safetensors are imported by the checkpoint methods only.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rdlab.core.io import (
    parse_json_object,
    read_json_object,
    read_safetensors,
    write_json_atomic,
    write_safetensors,
)
from rdlab.core.results import jsonable

CHECKPOINT_FORMAT = "rdlab-checkpoint"
CHECKPOINT_VERSION = "1"


def _canonical(obj: Any) -> Any:
    return json.loads(json.dumps(jsonable(obj), sort_keys=True))


def _diff_keys(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k, "<missing>"), b.get(k, "<missing>")
        if isinstance(va, dict) and isinstance(vb, dict):
            keys += _diff_keys(va, vb, f"{prefix}{k}.")
        elif va != vb:
            keys.append(f"{prefix}{k}")
    return keys


def _is_checkpoint(path: Path) -> bool:
    """Whether ``path`` is a safetensors file written by :meth:`RunDir.save_checkpoint`."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            return (fh.metadata() or {}).get("format") == CHECKPOINT_FORMAT
    except Exception:  # not readable as safetensors: not ours
        return False


class RunDir:
    """A run directory (see the module docstring).

    Parameters
    ----------
    path : str or PathLike
        The directory; created by :meth:`open`.

    Examples
    --------
    >>> import tempfile
    >>> rd = RunDir(tempfile.mkdtemp() + "/run")
    >>> rd.open({"lr": 0.001})
    False
    >>> rd.write_results({"rate_bits": 1.0})
    >>> rd.read_results()["rate_bits"]
    1.0
    """

    FIGURES = ("samples.png", "training.png")
    """Figures a run may write (:meth:`figure_path`); with ``config.json``, ``results.json``
    and the rdlab checkpoints they are the run's own files, the only ones :meth:`clear`
    removes."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def results_path(self) -> Path:
        return self.path / "results.json"

    def exists(self) -> bool:
        """Whether the directory already holds a run (a config or results file)."""
        return self.config_path.exists() or self.results_path.exists()

    def open(
        self, config: dict[str, Any], *, resume: bool = False, overwrite: bool = False
    ) -> bool:
        """Start (or continue) the run with ``config``; return True when continuing.

        Raises
        ------
        FileExistsError
            The directory holds a run and neither ``resume`` nor ``overwrite`` is given.
        ValueError
            ``resume`` of a run whose configuration differs, or both flags at once.
        """
        if resume and overwrite:
            raise ValueError("resume and overwrite exclude each other")
        if self.path.exists() and not self.path.is_dir():
            raise FileExistsError(f"{self.path} exists and is not a directory")
        cfg = _canonical(config)
        if self.exists():
            if resume:
                old = self.read_config()
                if old != cfg:
                    keys = ", ".join(_diff_keys(old, cfg)) or "?"
                    raise ValueError(
                        f"cannot resume {self.path}: its config.json differs in {keys}; "
                        "use another run directory or overwrite"
                    )
                return True
            if not overwrite:
                raise FileExistsError(
                    f"{self.path} already holds a run; pass --resume to continue it or "
                    "--overwrite to replace it"
                )
        elif resume and not self.path.exists():
            raise FileNotFoundError(f"cannot resume {self.path}: no such run directory")
        elif not overwrite and (clash := [p.name for p in self.own_files()]):
            raise FileExistsError(
                f"{self.path} holds no run but has {', '.join(clash)}, which a run would "
                "overwrite; pass --overwrite to replace them or use another directory"
            )
        self.clear()
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.config_path, cfg)
        return False

    def own_files(self) -> list[Path]:
        """The run's files present: ``config.json``, ``results.json``, the :attr:`FIGURES` and
        every safetensors file that is an rdlab checkpoint (by its metadata)."""
        if not self.path.is_dir():
            return []
        names = {self.config_path.name, self.results_path.name, *self.FIGURES}
        return sorted(
            p
            for p in self.path.iterdir()
            if p.is_file()
            and (p.name in names or (p.suffix == ".safetensors" and _is_checkpoint(p)))
        )

    def clear(self) -> None:
        """Remove the run's own files (:meth:`own_files`); keep anything else."""
        for p in self.own_files():
            p.unlink()

    def figure_path(self, name: str) -> Path:
        """Where the run writes its figure ``name``, one of :attr:`FIGURES`."""
        if name not in self.FIGURES:
            raise ValueError(f"figure name must be one of {', '.join(self.FIGURES)}, got {name!r}")
        return self.path / name

    def read_config(self) -> dict[str, Any]:
        """The run's ``config.json``, checked as untrusted input
        (:func:`rdlab.core.io.read_json_object`: a JSON object of bounded size and depth)."""
        return read_json_object(self.config_path)

    def write_results(self, results: dict[str, Any]) -> None:
        write_json_atomic(self.results_path, results)

    def read_results(self) -> dict[str, Any]:
        """The run's ``results.json``, checked like :meth:`read_config`."""
        return read_json_object(self.results_path)

    # -- checkpoints ---------------------------------------------------------------------------

    def checkpoint_path(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"checkpoint name must be a plain file stem, got {name!r}")
        return self.path / f"{name}.safetensors"

    def has_checkpoint(self, name: str) -> bool:
        return self.checkpoint_path(name).exists()

    def save_checkpoint(
        self,
        name: str,
        tensors: dict[str, Any],
        metadata: dict[str, Any],
        *,
        architecture: dict[str, Any],
    ) -> Path:
        """Write ``tensors`` (a flat name -> torch.Tensor dict) with ``metadata`` atomically and
        deterministically (:func:`rdlab.core.io.write_safetensors`).

        The safetensors metadata holds strings only; rdlab stores ``format``, ``version``,
        ``architecture`` (JSON) and ``state`` (``metadata`` as JSON).
        """
        meta = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "architecture": json.dumps(_canonical(architecture), sort_keys=True),
            "state": json.dumps(jsonable(metadata)),
        }
        arrays = {k: v.detach().cpu().numpy() for k, v in tensors.items()}
        self.path.mkdir(parents=True, exist_ok=True)
        return write_safetensors(self.checkpoint_path(name), arrays, meta)

    def load_checkpoint(
        self,
        name: str,
        *,
        architecture: dict[str, Any] | None = None,
        required: tuple[str, ...] = (),
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Read a checkpoint; return ``(tensors, metadata)``.

        The metadata is untrusted input: the training-state fields rdlab writes are checked
        where present (``step`` an int >= 0, ``history`` a list, ``sums`` an object of numbers,
        ``beta_nats`` null or a finite number), and the keys in ``required`` must be present.

        Raises
        ------
        FileNotFoundError
            No such checkpoint.
        ValueError
            Not an rdlab checkpoint, an unknown version, a corrupted file, metadata that breaks
            the rules above, or (with ``architecture``) one written by a different architecture.
        """
        path = self.checkpoint_path(name)
        if not path.exists():
            raise FileNotFoundError(f"no checkpoint {path}")
        tensors, meta = read_safetensors(path, framework="pt")
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not an rdlab checkpoint")
        if meta.get("version") != CHECKPOINT_VERSION:
            raise ValueError(
                f"{path} has checkpoint version {meta.get('version')!r}; this rdlab reads "
                f"version {CHECKPOINT_VERSION}"
            )
        stored = parse_json_object(meta.get("architecture", "{}"), f"{path}: architecture")
        if architecture is not None and stored != _canonical(architecture):
            raise ValueError(
                f"{path} was written by architecture {json.dumps(stored, sort_keys=True)}, "
                f"not {json.dumps(_canonical(architecture), sort_keys=True)}"
            )
        state = parse_json_object(meta.get("state", "{}"), f"{path}: state")
        _check_state(state, required, path)
        state["architecture"] = stored
        return tensors, state


def run_kind_and_seed(
    cfg_all: dict[str, Any], kind: str, where: str | os.PathLike, *, seed_bits: int = 64
) -> int:
    """Check that a run's ``config.json`` (untrusted input, as read by
    :meth:`RunDir.read_config`) is of ``kind`` and holds a ``config`` object; return its seed.

    Raises
    ------
    ValueError
        Another kind of run, no ``config`` object, or a seed that is not an integer in
        [0, 2^seed_bits).
    """
    if cfg_all.get("kind") != kind:
        raise ValueError(f"{where} is not a {kind} run (config.json kind is not {kind})")
    if "config" not in cfg_all:
        raise ValueError(f"{where}: config.json has no 'config' object")
    seed = cfg_all.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 1 << seed_bits:
        raise ValueError(
            f"{where}: config.json seed must be an integer in [0, 2^{seed_bits}), got {seed!r}"
        )
    return seed


def load_finished_run(
    run: str | os.PathLike,
    settings: Callable[[dict[str, Any], Path], tuple[Any, int]],
    *,
    model_file: str = "model",
    role: str = "run",
) -> tuple[RunDir, Any, int, dict[str, Any]]:
    """A finished run: its :class:`RunDir`, its settings and seed as ``settings(config, path)``
    reads them from ``config.json``, and the tensors of its ``model_file`` checked against the
    settings' ``architecture()``.

    Raises
    ------
    FileNotFoundError
        No ``config.json``, or no finished model file (the run has not finished). ``role``
        names the run in the message (``"base run"``).
    ValueError
        From ``settings``, or a corrupt or foreign checkpoint.
    """
    rd = RunDir(run)
    if not rd.config_path.exists():
        raise FileNotFoundError(f"{role} {rd.path} is not a run directory (no config.json)")
    cfg, seed = settings(rd.read_config(), rd.path)
    if not rd.has_checkpoint(model_file):
        raise FileNotFoundError(
            f"{role} {rd.path} has no finished model ({model_file}.safetensors)"
        )
    tensors, _ = rd.load_checkpoint(model_file, architecture=cfg.architecture())
    return rd, cfg, seed, tensors


def check_same_settings(base: Any, cfg: Any, keys: tuple[str, ...], where: Path) -> None:
    """Raise ``ValueError`` unless the base run's settings ``base`` and this run's ``cfg``
    agree on every attribute of ``keys``."""
    for key in keys:
        if getattr(base, key) != getattr(cfg, key):
            raise ValueError(
                f"base run {where} has {key}={getattr(base, key)!r}, this run "
                f"{key}={getattr(cfg, key)!r}; they must agree"
            )


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _check_state(state: dict[str, Any], required: tuple[str, ...], path: Path) -> None:
    missing = [k for k in required if k not in state]
    if missing:
        raise ValueError(f"{path}: the checkpoint's state lacks {', '.join(missing)}")
    checks = {
        "step": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "history": lambda v: isinstance(v, list),
        "sums": lambda v: isinstance(v, dict) and all(_is_number(x) for x in v.values()),
        "beta_nats": lambda v: v is None or v == "None" or _is_number(v),
    }
    for key, ok in checks.items():
        if key in state and not ok(state[key]):
            raise ValueError(f"{path}: invalid {key!r} in the checkpoint's state")


__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "RunDir", "run_kind_and_seed"]
