"""Plans of jobs, and the executors that run them on one machine or a Ray cluster.

A reproduction or a sweep is a set of independent trainings, some waiting for others (a
universal model after its base). It *plans* them as :class:`Job` s — each a module-level
function of its folder, its JSON-ready ``config`` and the folders of the jobs it depends on —
and :func:`run_plan` runs the :class:`Plan` with an executor:

- :class:`LocalExecutor` (default): in this process with one worker, else the standard
  library's process pool (``spawn``: a forked child would inherit torch's thread pools);
- :class:`RayExecutor`: each job a Ray task with its CPUs and GPUs, on a local Ray instance or
  a cluster (``address``); Ray is the optional extra ``rdlab[ray]``.

Each job runs in ``root / key``; when it returns, its result is written beside it
(``job.json``, with a fingerprint of the function, its config and its dependencies'
fingerprints). A later run of the plan reuses a job whose record matches and none of whose
dependencies ran again, so an interrupted plan resumes where it stopped (a job that keeps its
own checkpoints resumes inside itself: its ``fresh`` argument is False). Jobs are seeded pure
functions of their config, so the results do not depend on the executor or the number of
workers; only their ``seconds`` do.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any, Protocol

from rdlab.core.io import read_json_object, write_json_atomic
from rdlab.core.results import jsonable
from rdlab.core.validation import check_in_range, check_int

RECORD = "job.json"
"""The file in a job's folder that records its finished result."""

EXECUTORS = ("local", "ray")

JobFunction = Callable[[Path, dict[str, Any], dict[str, Path], bool], Mapping[str, Any]]
"""``fn(job_dir, config, deps, fresh) -> result``: ``deps`` maps each dependency's key to its
folder; ``fresh`` is True when a dependency ran again in this call (so no state the job kept
from before may be reused). The result is JSON-ready."""


@dataclass(frozen=True)
class Job:
    """One unit of a plan.

    Parameters
    ----------
    key : str
        Unique in the plan; its folder is ``root / key`` (``/`` makes sub-folders).
    fn : callable
        A module-level :data:`JobFunction` (workers import it by name).
    config : mapping
        JSON-ready arguments of ``fn``; with ``fn``'s name it makes the job's fingerprint.
    deps : tuple of str
        Keys of the jobs that must finish first.
    """

    key: str
    fn: JobFunction
    config: Mapping[str, Any]
    deps: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        parts = PurePosixPath(self.key).parts if isinstance(self.key, str) else ()
        if not parts or self.key.startswith("/") or any(p in ("..", ".") for p in parts):
            raise ValueError(f"job key must be a relative folder name, got {self.key!r}")
        if not callable(self.fn) or "<" in getattr(self.fn, "__qualname__", "<"):
            raise TypeError(f"job {self.key!r}: fn must be a module-level function")
        object.__setattr__(self, "config", MappingProxyType(jsonable(dict(self.config))))
        object.__setattr__(self, "deps", tuple(self.deps))


@dataclass(frozen=True)
class Plan:
    """Jobs with their dependencies; checked: unique keys, known dependencies, no cycle.

    Attributes
    ----------
    order : tuple of str
        The keys in an order where every job comes after its dependencies (stable: jobs keep
        the order they were given in where the dependencies allow).
    """

    jobs: tuple[Job, ...]
    order: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        jobs = tuple(self.jobs)
        object.__setattr__(self, "jobs", jobs)
        by_key: dict[str, Job] = {}
        for j in jobs:
            if not isinstance(j, Job):
                raise TypeError(f"a plan holds Job objects, got {type(j).__name__}")
            if j.key in by_key:
                raise ValueError(f"job key {j.key!r} appears twice in the plan")
            by_key[j.key] = j
        for j in jobs:
            for d in j.deps:
                if d not in by_key:
                    raise ValueError(f"job {j.key!r} depends on {d!r}, which is not in the plan")
        order: list[str] = []
        done: set[str] = set()
        while len(order) < len(jobs):
            ready = [j.key for j in jobs if j.key not in done and set(j.deps) <= done]
            if not ready:
                stuck = sorted(j.key for j in jobs if j.key not in done)
                raise ValueError(f"the plan has a dependency cycle among {', '.join(stuck)}")
            order.extend(ready)
            done.update(ready)
        object.__setattr__(self, "order", tuple(order))

    def __getitem__(self, key: str) -> Job:
        for j in self.jobs:
            if j.key == key:
                return j
        raise KeyError(key)

    def __len__(self) -> int:
        return len(self.jobs)


@dataclass(frozen=True)
class JobOutcome:
    """A finished job: its result, whether it was reused from an earlier run, its wall time."""

    key: str
    result: Mapping[str, Any]
    reused: bool
    seconds: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "result", MappingProxyType(dict(self.result)))


def fingerprint(job: Job, dep_prints: Mapping[str, str]) -> str:
    """SHA-256 (hex) of the job's function name, config and its dependencies' fingerprints."""
    body = {
        "fn": f"{job.fn.__module__}.{job.fn.__qualname__}",
        "config": dict(job.config),
        "deps": {d: dep_prints[d] for d in job.deps},
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def execute_job(
    fn: JobFunction,
    job_dir: str,
    config: dict[str, Any],
    deps: dict[str, str],
    fresh: bool,
    threads: int | None,
) -> tuple[dict[str, Any], float]:
    """Run one job (in whichever process the executor chose) with ``threads`` torch threads;
    return its JSON-ready result and wall time in seconds."""
    old = None
    if threads is not None:
        import torch

        old = torch.get_num_threads()
        torch.set_num_threads(threads)
    try:
        start = time.perf_counter()
        result = fn(Path(job_dir), config, {k: Path(v) for k, v in deps.items()}, fresh)
        seconds = time.perf_counter() - start
    finally:
        if old is not None:
            import torch

            torch.set_num_threads(old)
    if not isinstance(result, Mapping):
        raise TypeError(f"a job returns a mapping, got {type(result).__name__}")
    return jsonable(dict(result)), seconds


class Executor(Protocol):
    """Where jobs run: ``submit`` returns a handle, ``wait`` some finished handles."""

    name: str
    workers: int

    @property
    def max_in_flight(self) -> int | None:
        """Most jobs to hand over at once (None: any number; the executor queues them)."""
        ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...

    def submit(self, call: Callable[..., Any], *args: Any) -> Any: ...

    def wait(self, handles: list[Any]) -> list[Any]: ...

    def result(self, handle: Any) -> Any: ...

    def cancel(self, handles: list[Any]) -> None: ...

    def threads_per_job(self) -> int | None: ...


class LocalExecutor:
    """Jobs on this machine: in this process (``workers = 1``) or in ``workers`` processes."""

    name = "local"

    def __init__(self, workers: int = 1) -> None:
        self.workers = check_int("workers", workers, minimum=1, maximum=1024)
        self._pool: ProcessPoolExecutor | None = None

    @property
    def max_in_flight(self) -> int:
        """One job per worker: in this process ``submit`` runs the job at once, so the
        scheduler records each job (and moves the progress bar) before it starts the next."""
        return self.workers

    def __enter__(self) -> LocalExecutor:
        if self.workers > 1:
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def submit(self, call: Callable[..., Any], *args: Any) -> Future:
        if self._pool is not None:
            return self._pool.submit(call, *args)
        fut: Future = Future()
        try:
            fut.set_result(call(*args))
        except Exception as exc:  # the scheduler reports it with the job's key
            fut.set_exception(exc)
        return fut

    def wait(self, handles: list[Future]) -> list[Future]:
        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        return [h for h in handles if h in done]

    def result(self, handle: Future) -> Any:
        return handle.result()

    def cancel(self, handles: list[Future]) -> None:
        for h in handles:
            h.cancel()

    def threads_per_job(self) -> int | None:
        return None if self.workers == 1 else max(1, (os.cpu_count() or 1) // self.workers)


class RayExecutor:
    """Each job a Ray task with ``cpus_per_job`` CPUs and ``gpus_per_job`` GPUs.

    With ``address`` (``"auto"``, ``"ray://HOST:10001"``, ``"HOST:6379"``) it joins that
    cluster; otherwise it starts a local Ray instance with ``workers`` CPUs, or uses the one
    this process already started (``ray.init``), and stops only what it started. Jobs write to
    their folders, so on a cluster the run directory must be on a file system every node sees.

    Raises
    ------
    ValueError
        Ray is not installed (``pip install 'rdlab[ray]'``), or a resource is out of range.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        cpus_per_job: float = 1.0,
        gpus_per_job: float = 0.0,
    ) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ValueError(
                "the ray executor needs Ray: pip install 'rdlab[ray]' (or pip install ray)"
            ) from None
        self.address = address
        self.workers = 0 if workers is None else check_int("workers", workers, minimum=1)
        self.cpus_per_job = check_in_range("cpus_per_job", cpus_per_job, 0, 1024, low_open=True)
        self.gpus_per_job = check_in_range("gpus_per_job", gpus_per_job, 0, 1024)
        self._owned = False
        self._task: Any = None

    @property
    def max_in_flight(self) -> None:
        """Ray queues the tasks and runs as many as the resources allow."""
        return None

    def __enter__(self) -> RayExecutor:
        import ray

        if not ray.is_initialized():
            if self.address is not None:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=self.workers or None, include_dashboard=False, log_to_driver=False
                )
            self._owned = True
        self._task = ray.remote(
            num_cpus=self.cpus_per_job, num_gpus=self.gpus_per_job, max_retries=0
        )(execute_job)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned:
            import ray

            ray.shutdown()
            self._owned = False

    def submit(self, call: Callable[..., Any], *args: Any) -> Any:
        if call is not execute_job:
            raise ValueError("the ray executor runs execute_job only")
        return self._task.remote(*args)

    def wait(self, handles: list[Any]) -> list[Any]:
        import ray

        ready, _ = ray.wait(handles, num_returns=1)
        more, _ = ray.wait(handles, num_returns=len(handles), timeout=0)
        done = set(ready) | set(more)  # object refs compare by their id
        return [h for h in handles if h in done]

    def result(self, handle: Any) -> Any:
        import ray

        try:
            return ray.get(handle)
        except ray.exceptions.RayTaskError as err:
            cause = err.cause if isinstance(getattr(err, "cause", None), Exception) else None
            raise (cause or RuntimeError(str(err).splitlines()[-1])) from None

    def cancel(self, handles: list[Any]) -> None:
        import ray

        for h in handles:
            ray.cancel(h, force=True)

    def threads_per_job(self) -> int | None:
        return max(1, int(self.cpus_per_job))


def make_executor(
    name: str = "local",
    *,
    jobs: int = 1,
    address: str | None = None,
    cpus_per_job: float | None = None,
    gpus_per_job: float = 0.0,
) -> LocalExecutor | RayExecutor:
    """The executor ``name`` (``local`` or ``ray``) with ``jobs`` workers.

    ``address``, ``cpus_per_job`` and ``gpus_per_job`` are Ray's; the local executor refuses
    them (it gives each of its ``jobs`` workers an equal share of the CPUs).
    """
    if name == "local":
        if address is not None or cpus_per_job is not None or gpus_per_job:
            raise ValueError("--address, --cpus-per-job and --gpus-per-job need --executor ray")
        return LocalExecutor(jobs)
    if name == "ray":
        return RayExecutor(
            address, jobs if address is None else None, cpus_per_job or 1.0, gpus_per_job
        )
    raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {name!r}")


def _read_record(job_dir: Path) -> dict[str, Any] | None:
    path = job_dir / RECORD
    if not path.is_file():
        return None
    try:
        rec = read_json_object(path)
    except ValueError:
        return None
    if not isinstance(rec.get("result"), dict) or not isinstance(rec.get("fingerprint"), str):
        return None
    return rec


def run_plan(
    plan: Plan,
    root: str | os.PathLike,
    executor: LocalExecutor | RayExecutor | None = None,
    *,
    threads: int | None = None,
    progress: bool = True,
    desc: str = "jobs",
) -> dict[str, JobOutcome]:
    """Run (or reuse) every job of ``plan`` under ``root``; return the outcomes by key.

    Parameters
    ----------
    plan : Plan
    root : path
        The plan's folder; job ``k`` runs in ``root / k``.
    executor : LocalExecutor or RayExecutor, optional
        Where the jobs run (default: one local worker, in this process).
    threads : int, optional
        Torch threads of each job (default: the executor's share of the CPUs; unchanged with
        one local worker).
    progress : bool
        A progress bar of the jobs.

    Raises
    ------
    RuntimeError
        A job failed (naming it); the jobs still running are cancelled, the finished ones keep
        their records, so running the plan again resumes.
    """
    from tqdm.auto import tqdm

    root = Path(root).resolve()
    ex = executor if executor is not None else LocalExecutor(1)
    threads = ex.threads_per_job() if threads is None else check_int("threads", threads, minimum=1)
    outcomes: dict[str, JobOutcome] = {}
    prints: dict[str, str] = {}
    ran: set[str] = set()
    pending = list(plan.order)
    running: dict[Any, str] = {}  # handle -> key
    bar = tqdm(total=len(plan), desc=desc, leave=False, disable=not progress)
    try:
        with ex:
            while pending or running:
                for key in [k for k in pending if set(plan[k].deps) <= outcomes.keys()]:
                    cap = ex.max_in_flight
                    if cap is not None and len(running) >= cap:
                        break
                    pending.remove(key)
                    job = plan[key]
                    prints[key] = fingerprint(job, prints)
                    job_dir = root / key
                    fresh = any(d in ran for d in job.deps)
                    rec = _read_record(job_dir)
                    if rec is not None and rec["fingerprint"] == prints[key] and not fresh:
                        outcomes[key] = JobOutcome(
                            key, rec["result"], True, float(rec.get("seconds", 0.0))
                        )
                        bar.update(1)
                        continue
                    (job_dir / RECORD).unlink(missing_ok=True)
                    job_dir.mkdir(parents=True, exist_ok=True)
                    deps = {d: str(root / d) for d in job.deps}
                    args = (job.fn, str(job_dir), dict(job.config), deps, fresh, threads)
                    handle = ex.submit(execute_job, *args)
                    running[handle] = key
                if not running:
                    continue  # reused jobs may have made others ready
                for handle in ex.wait(list(running)):
                    key = running.pop(handle)
                    try:
                        result, seconds = ex.result(handle)
                    except Exception as err:
                        ex.cancel(list(running))
                        raise RuntimeError(f"job {key!r} failed: {err}") from err
                    write_json_atomic(
                        root / key / RECORD,
                        {
                            "key": key,
                            "fingerprint": prints[key],
                            "seconds": round(seconds, 3),
                            "executor": ex.name,
                            "result": result,
                        },
                    )
                    outcomes[key] = JobOutcome(key, result, False, seconds)
                    ran.add(key)
                    bar.update(1)
    finally:
        bar.close()
    return {k: outcomes[k] for k in plan.order}


def resume_or_restart(
    job_dir: Path, fresh: bool, train: Callable[..., Mapping[str, Any]]
) -> Mapping[str, Any]:
    """The usual body of a training job: ``train(resume=True)`` continues the unfinished run
    in ``job_dir`` when it holds the same settings and no dependency was retrained
    (``fresh`` False); otherwise (or when the run directory refuses to resume: other settings)
    ``train(overwrite=True)`` trains afresh, replacing the run's own files only."""
    if (Path(job_dir) / "config.json").exists() and not fresh:
        try:
            return train(resume=True)
        except ValueError as exc:
            if "cannot resume" not in str(exc):
                raise
    return train(overwrite=True)


__all__ = [
    "EXECUTORS",
    "RECORD",
    "Executor",
    "Job",
    "JobFunction",
    "JobOutcome",
    "LocalExecutor",
    "Plan",
    "RayExecutor",
    "execute_job",
    "fingerprint",
    "make_executor",
    "resume_or_restart",
    "run_plan",
]
