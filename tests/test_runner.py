"""The experiment runner: plans, resumption, and the same results under every executor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rdlab.experiments.runner import (
    RECORD,
    Job,
    LocalExecutor,
    Plan,
    RayExecutor,
    make_executor,
    run_plan,
)


def add_job(job_dir: Path, config: dict, deps: dict, fresh: bool) -> dict:
    """A toy job: its value plus its dependencies' values; counts its calls in its folder."""
    calls = job_dir / "calls"
    calls.write_text(str(int(calls.read_text()) + 1 if calls.exists() else 1))
    if config.get("fail_once") and not (job_dir / "failed").exists():
        (job_dir / "failed").write_text("")
        raise ValueError("planned failure")
    total = config["value"]
    for d in deps.values():
        total += json.loads((d / RECORD).read_text())["result"]["total"]
    return {"total": total, "fresh": fresh}


def _plan(**extra) -> Plan:
    return Plan(
        (
            Job("b", add_job, {"value": 2, **extra}, deps=("a",)),
            Job("a", add_job, {"value": 1}),
            Job("c/d", add_job, {"value": 3}, deps=("a", "b")),
        )
    )


def _calls(root: Path) -> dict[str, int]:
    return {k: int((root / k / "calls").read_text()) for k in ("a", "b", "c/d")}


def test_plan_is_checked():
    job = Job("a", add_job, {"value": 1})
    with pytest.raises(ValueError, match="twice"):
        Plan((job, job))
    with pytest.raises(ValueError, match="not in the plan"):
        Plan((Job("b", add_job, {}, deps=("x",)),))
    with pytest.raises(ValueError, match="cycle among a, b"):
        Plan((Job("a", add_job, {}, deps=("b",)), Job("b", add_job, {}, deps=("a",))))
    for bad in ("", "/abs", "../up", "a/../b"):
        with pytest.raises(ValueError, match="relative folder"):
            Job(bad, add_job, {})
    with pytest.raises(TypeError, match="module-level"):
        Job("a", lambda *a: {}, {})
    assert _plan().order == ("a", "b", "c/d")


def test_runs_in_dependency_order_and_resumes(tmp_path):
    out = run_plan(_plan(), tmp_path, progress=False)
    assert [out[k].result["total"] for k in ("a", "b", "c/d")] == [1, 3, 7]
    assert not any(o.reused for o in out.values())
    again = run_plan(_plan(), tmp_path, progress=False)
    assert all(o.reused for o in again.values()) and _calls(tmp_path) == {"a": 1, "b": 1, "c/d": 1}
    # a changed config reruns that job and every job after it, with fresh=True
    changed = run_plan(_plan(note="x"), tmp_path, progress=False)
    assert changed["a"].reused and not changed["b"].reused and not changed["c/d"].reused
    assert changed["c/d"].result["fresh"] and not changed["b"].result["fresh"]


def test_an_interrupted_plan_resumes_where_it_stopped(tmp_path):
    with pytest.raises(RuntimeError, match="job 'b' failed: planned failure"):
        run_plan(_plan(fail_once=True), tmp_path, progress=False)
    assert (tmp_path / "a" / RECORD).exists() and not (tmp_path / "b" / RECORD).exists()
    out = run_plan(_plan(fail_once=True), tmp_path, progress=False)
    assert out["a"].reused and not out["b"].reused and out["c/d"].result["total"] == 7
    assert _calls(tmp_path) == {"a": 1, "b": 2, "c/d": 1}


def test_in_process_jobs_are_recorded_one_by_one(tmp_path):
    """In this process each job is recorded before the next starts: after a failure the jobs
    that finished keep their records and no later independent job has run."""
    plan = Plan(
        (
            Job("a", add_job, {"value": 1}),
            Job("b", add_job, {"value": 2, "fail_once": True}),
            Job("e", add_job, {"value": 5}),
        )
    )
    with pytest.raises(RuntimeError, match="job 'b' failed"):
        run_plan(plan, tmp_path, progress=False)
    assert (tmp_path / "a" / RECORD).exists()
    assert not (tmp_path / "e").exists()  # never started
    out = run_plan(plan, tmp_path, progress=False)
    assert out["a"].reused and out["e"].result["total"] == 5


def test_two_local_workers_give_the_same_results(tmp_path):
    one = run_plan(_plan(), tmp_path / "one", LocalExecutor(1), progress=False)
    two = run_plan(_plan(), tmp_path / "two", LocalExecutor(2), progress=False)
    assert {k: dict(o.result) for k, o in one.items()} == {
        k: dict(o.result) for k, o in two.items()
    }


def test_executor_arguments_are_checked():
    with pytest.raises(ValueError, match="need --executor ray"):
        make_executor("local", address="auto")
    with pytest.raises(ValueError, match="executor must be one of local, ray"):
        make_executor("slurm")
    with pytest.raises(ValueError, match="workers must be >= 1"):
        LocalExecutor(0)


# -- the same learned-codec plan under local (1 and 2 workers) and Ray ---------------------------


def _learned_plan():
    """A base learned codec and two universal models on its frozen encoder (digits, tiny)."""
    pytest.importorskip("torch")
    from rdlab.experiments.seed001_learned import train_sub_run
    from rdlab.models.learned import preset_config

    def config(**kw):
        cfg = preset_config(
            "quick", "digits", latent_dim=3, levels=3, epochs=1, n_train=128, n_test=32,
            fresh_critic_steps=0, **kw,
        )  # fmt: skip
        return cfg.to_dict()

    def job(key, cfg, base=None):
        body = {"config": cfg, "seed": 0, "base": base, "data_dir": None, "device": "cpu"}
        return Job(key, train_sub_run, body, deps=(base,) if base else ())

    return Plan(
        (
            job("base", config(lam=0.0)),
            job("u0", config(lam=0.0, mode="universal"), "base"),
            job("u1", config(lam=0.05, mode="universal"), "base"),
        )
    )


NUMBERS = ("distortion", "rate_bits", "rate_entropy_bits", "steps")


def _numbers(outcomes):
    return {k: {n: o.result.get(n) for n in NUMBERS} for k, o in outcomes.items()}


@pytest.fixture(scope="module")
def ray_head():
    """A Ray head on 127.0.0.1 with 2 CPUs, stopped afterwards."""
    ray = pytest.importorskip(
        "ray", reason="the ray extra is not installed (pip install 'rdlab[ray]')"
    )
    ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_the_same_plan_under_local_and_ray(ray_head, tmp_path):
    plan = _learned_plan()
    local1 = run_plan(plan, tmp_path / "l1", LocalExecutor(1), threads=1, progress=False)
    local2 = run_plan(plan, tmp_path / "l2", LocalExecutor(2), threads=1, progress=False)
    ray = run_plan(plan, tmp_path / "ray", RayExecutor(), threads=1, progress=False)
    assert ray_head.is_initialized()  # the executor leaves a Ray it did not start running
    assert all(o.result["distortion"] > 0 for o in local1.values())
    assert _numbers(local1) == _numbers(local2) == _numbers(ray)
    from safetensors.numpy import load_file

    for name in ("base", "u0", "u1"):  # the same weights (the metadata names the base's path)
        a, b = (load_file(tmp_path / r / name / "model.safetensors") for r in ("l1", "ray"))
        assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a), name
    record = json.loads((tmp_path / "ray" / "u1" / RECORD).read_text())
    assert (
        record["executor"] == "ray"
        and record["result"]["distortion"] == (local1["u1"].result["distortion"])
    )
