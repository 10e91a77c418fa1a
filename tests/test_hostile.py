"""Hostile input: forged streams (valid CRC, hostile values) fail fast with BitstreamError,
every reproducer of the hostile-input report, and byte-identical models and streams across
processes."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bitstream_fuzz import all_cases, campaign, random_cases, run_case
from rdlab.coding.container import BitstreamError, pack_container, unpack_container
from rdlab.coding.index_coding import encode_indices_range
from rdlab.coding.rcc import RCCCodec, output_from_spec, rcc_decode, read_rcc_header
from toy_codecs import DATA, toy_learned

TESTS = Path(__file__).parent


# -- forged streams: every field at every edge value ---------------------------------------------
def test_every_forged_field_payload_and_spec_fails_cleanly_and_fast():
    """All deterministic forgeries of every codec's streams (about 1750): only BitstreamError
    or a decode, none over 1 s."""
    n = 0
    for sname, cname, forged, decode in all_cases():
        outcome, seconds = run_case(forged, decode, 1.0)
        assert outcome in ("decoded", "BitstreamError"), f"{sname} {cname[:120]}: {outcome}"
        assert seconds < 1.0, f"{sname} {cname[:120]}: {seconds:.2f} s"
        n += 1
    assert n > 1500


def test_random_multi_field_forgeries_fail_cleanly():
    for sname, cname, forged, decode in random_cases(2000, seed=1):
        outcome, seconds = run_case(forged, decode, 1.0)
        assert outcome in ("decoded", "BitstreamError"), f"{sname} {cname}: {outcome}"
        assert seconds < 1.0, f"{sname} {cname}: {seconds:.2f} s"


@pytest.mark.slow
def test_fuzz_campaign_under_memory_and_time_limits(tmp_path):
    """The campaign of docs/bitstream.md: 200 000 random forgeries plus every deterministic one,
    in a process limited to 1 GiB of address space beyond its start, 1 s a case."""
    out = tmp_path / "fuzz.json"
    cmd = [
        sys.executable,
        str(TESTS / "bitstream_fuzz.py"),
        "--cases",
        "200000",
        "--json",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["failures"] == [] and report["max_case_seconds"] < 1.0
    assert set(report["outcomes"]) <= {"decoded", "BitstreamError"}


def test_campaign_reports_a_failure():
    """The campaign can fail: a decoder that raises anything but BitstreamError is reported."""
    import bitstream_fuzz

    def boom(_data):
        raise KeyError("deep inside")

    assert run_case(b"x", boom, 1.0)[0] == "KeyError"
    assert run_case(b"x", lambda b: time.sleep(2), 0.2)[0] == "Hang"
    assert callable(bitstream_fuzz.main) and callable(campaign)


# -- the reproducers ------------------------------------------------------------------------------
def _rcc_stream(n=50, d=20, coding="range", n_candidates=256):
    codec = RCCCodec.gaussian(
        f"gaussian:{','.join(['1'] * d)}", distortion=0.3 * d, n_candidates=n_candidates,
        index_coding=coding,
    )  # fmt: skip
    x = np.random.default_rng(0).standard_normal((n, d) if d > 1 else n)
    return codec, codec.encode(x, seed=4)


def _forge(data: bytes, payload: bytes | None = None, **fields) -> bytes:
    header, old = read_rcc_header(data)
    header = dataclasses.replace(header, **fields)
    return pack_container(1, header.to_bytes(), old if payload is None else payload)


def _forge_valid_payload(data: bytes, **fields) -> bytes:
    """Header fields replaced, and a payload that is a valid encoding under the new header."""
    header = dataclasses.replace(read_rcc_header(data)[0], **fields)
    k = np.ones(header.n_samples, dtype=np.int64)
    return pack_container(1, header.to_bytes(), encode_indices_range(k, header.zipf_law))


def _fails_fast(data: bytes, match: str, decode=rcc_decode) -> None:
    t0 = time.perf_counter()
    with pytest.raises(BitstreamError, match=match):
        decode(data)
    assert time.perf_counter() - t0 < 1.0


def test_nested_and_huge_json_in_the_output_spec():
    _, data = _rcc_stream(n=3)
    f = unpack_container(data)
    pos = 41 + 4 + 32  # event ndim 1
    for spec, match in (
        (b"[" * 100000 + b"]" * 100000, "nested deeper"),
        (b'{"a":' * 50 + b"1" + b"}" * 50, "nested deeper"),
        (b'{"kind":"gaussian","v":' + b"9" * 5000 + b"}", "not valid JSON"),
        (b'{"kind":"gaussian","v":NaN}', "not valid JSON"),
    ):
        header = f.header[:pos] + len(spec).to_bytes(4, "little") + spec
        _fails_fast(pack_container(1, header, f.payload), match)


def test_decompression_bombs_are_refused_before_allocating():
    # chunk 2**20 on a 1000-dimensional Q_Y with N = 2**24: 2 kB asking for gigabytes
    _codec, data = _rcc_stream(n=5, d=1000, n_candidates=2**12)
    _fails_fast(_forge_valid_payload(data, chunk_size=2**20, n_candidates=2**24), "needs")
    # N = 1 costs no payload: n = 2**31 asks for 16 GiB, n = 10**6 for 1e9 draws
    _, small = _rcc_stream(n=5, d=1)
    _fails_fast(_forge(small, b"", n_candidates=1, n_samples=2**31), "needs 16.00 GiB")
    _fails_fast(_forge(small, b"", n_candidates=1, n_samples=10**6), "random draws")
    # 2**20-candidate chunks on gaussian20, a valid payload of 400 indices
    _, g20 = _rcc_stream(n=5, d=20)
    bomb = _forge_valid_payload(g20, n_candidates=2**20, chunk_size=2**20, n_samples=400)
    _fails_fast(bomb, "random draws")
    assert len(bomb) < 600
    # a caller who trusts the stream may raise the budgets (this one would still need 8e9)
    with pytest.raises(BitstreamError, match="random draws"):
        rcc_decode(bomb, max_draws=10**9)


def test_budgets_admit_ordinary_streams():
    _codec, data = _rcc_stream(n=50, d=20)
    assert rcc_decode(data).reconstruction.shape == (50, 20)
    with pytest.raises(BitstreamError, match="--max-memory"):
        rcc_decode(data, max_memory_bytes=1000)


@pytest.mark.parametrize("coding", ["range", "prefix"])
def test_payload_must_hold_exactly_the_header_count(coding):
    codec, data = _rcc_stream(n=50, d=20, coding=coding)
    _, payload = read_rcc_header(data)
    _fails_fast(_forge(data, n_samples=100), "payload|holds at most")
    _fails_fast(_forge(data, b""), "payload")
    _fails_fast(_forge(data, payload + bytes(4)), "payload")
    _fails_fast(_forge(data, payload + b"\x01\x02\x03\x04"), "payload")
    _fails_fast(_forge(data, payload[:-4]), "payload")
    assert codec.decode(data).shape == (50, 20)


def test_learned_stream_of_another_input_shape_is_refused():
    codec = toy_learned()
    data = (DATA / "learned_uq_example.rdl").read_bytes()
    f = unpack_container(data)
    header = bytearray(f.header)
    header[52 + 8 : 52 + 12] = (27).to_bytes(4, "little")  # (1, 28, 28) -> (1, 28, 27)
    _fails_fast(pack_container(2, bytes(header), f.payload), r"input shape|shape", codec.decode)


def test_output_spec_limits_are_documented():
    from rdlab.coding.rcc.header import MAX_SPEC_BYTES, MAX_SPEC_DEPTH

    doc = (TESTS.parent / "docs" / "bitstream.md").read_text()
    assert f"{MAX_SPEC_BYTES // 2**20} MiB" in doc and f"nesting <= {MAX_SPEC_DEPTH}" in doc
    assert output_from_spec  # the spec kinds themselves are tested in test_rcc


# -- determinism: same seed, same data, same bytes -------------------------------------------------
def test_same_training_gives_identical_files_and_streams_across_processes(tmp_path):
    """Two processes train the same learned codec and NERD generator and encode the same
    images: the model files and the stream are byte-identical."""
    pytest.importorskip("torch")
    from rdlab.models.learned import load_split

    np.save(tmp_path / "img.npy", load_split("digits", "test", n=6))
    script = """if 1:
        import sys
        from rdlab.cli.main import main
        name = sys.argv[1]
        lc, nerd = f"lc-{name}", f"nerd-{name}"
        for argv in (
            ["lc", "train", "--data", "digits", "--epochs", "1", "--n-train", "128",
             "--n-test", "32", "--fresh-critic-steps", "0", "--no-progress", "--out", lc],
            ["lc", "encode", "--model", lc, "img.npy", f"{name}.rdl"],
            ["nerd", "--source", "gaussian", "--beta=-1", "--preset", "quick", "--steps", "20",
             "--n-eval", "64", "--eval-samples", "256", "--no-progress", "--out", nerd],
        ):
            assert main(argv) == 0, argv
    """
    files = []
    for name in ("a", "b"):
        proc = subprocess.run(
            [sys.executable, "-c", script, name], cwd=tmp_path, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        files.append(
            [
                (tmp_path / f"lc-{name}" / "model.safetensors").read_bytes(),
                (tmp_path / f"{name}.rdl").read_bytes(),
                next((tmp_path / f"nerd-{name}").rglob("generator.safetensors")).read_bytes(),
            ]
        )
    for what, a, b in zip(("model file", "stream", "NERD generator"), *files, strict=True):
        assert a == b, f"the {what} differs between two identical runs"


def test_identity_is_the_canonical_content_and_old_streams_still_decode(tmp_path):
    pytest.importorskip("torch")
    from safetensors import safe_open
    from safetensors.numpy import save_file

    from rdlab.coding.codec import decoder_for
    from rdlab.coding.learned import QuantizedLatentCodec
    from rdlab.core.io import file_sha256
    from rdlab.models.learned import learned_run, load_learned_codec, load_split, preset_config

    run = tmp_path / "lc"
    cfg = preset_config(
        "quick", "digits", latent_dim=3, levels=3, epochs=1, n_train=128, n_test=32,
        fresh_critic_steps=0,
    )  # fmt: skip
    learned_run(cfg, run, seed=0)
    path = run / "model.safetensors"
    codec = load_learned_codec(run)
    assert codec.identity() == file_sha256(path) and codec.legacy_identities == ()
    x = load_split("digits", "test", n=4)
    new_stream = codec.encode(x, seed=1)
    # the file as the safetensors package writes it (rdlab 0.2): other bytes, same content
    with safe_open(str(path), framework="np") as fh:
        meta, arrays = fh.metadata(), {k: fh.get_tensor(k) for k in fh.keys()}
    save_file(arrays, str(path), metadata=meta)
    legacy = file_sha256(path)
    assert legacy != codec.identity()
    again = load_learned_codec(run)
    assert again.identity() == codec.identity() and again.legacy_identities == (legacy,)
    old = QuantizedLatentCodec(
        codec.analysis, codec.synthesis, codec.coding_model, codec.quantizer, codec.input_shape,
        legacy,
    )  # fmt: skip
    old_stream = old.encode(x, seed=1)
    assert np.array_equal(again.decode(old_stream), old.decode(old_stream))
    assert np.array_equal(again.decode(new_stream), codec.decode(new_stream))
    assert decoder_for(old_stream, again) is again
    stranger = QuantizedLatentCodec(
        codec.analysis, codec.synthesis, codec.coding_model, codec.quantizer, codec.input_shape,
        bytes(32),
    )  # fmt: skip
    with pytest.raises(BitstreamError, match=r"written by"):
        again.decode(stranger.encode(x, seed=1))


# -- run directories are untrusted input ----------------------------------------------------------
@pytest.fixture(scope="module")
def learned_dir(tmp_path_factory):
    pytest.importorskip("torch")
    from rdlab.models.learned import learned_run, preset_config

    run = tmp_path_factory.mktemp("runs") / "lc"
    cfg = preset_config(
        "quick", "digits", latent_dim=3, levels=3, epochs=1, n_train=128, n_test=32,
        fresh_critic_steps=0,
    )  # fmt: skip
    learned_run(cfg, run, seed=0)
    return run


@pytest.fixture(scope="module")
def nerd_dir(tmp_path_factory):
    pytest.importorskip("torch")
    from rdlab.cli.main import main

    out = tmp_path_factory.mktemp("runs") / "nerd"
    argv = ["nerd", "--source", "gaussian", "--beta=-1", "--preset", "quick", "--steps", "20",
            "--n-eval", "64", "--eval-samples", "256", "--no-progress", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    return out / "point-00"


def _copy_run(run: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(run, tmp_path / run.name))


def _edit_json(path: Path, edit) -> None:
    path.write_text(edit(json.loads(path.read_text())) if callable(edit) else edit)


_DEEP = "[" * 100_000 + "]" * 100_000
BAD_LEARNED_CONFIGS = {
    "a list": "[]",
    "null": "null",
    "deeply nested": _DEEP,
    "Infinity": lambda c: json.dumps(c).replace('"sigma": ', '"sigma": Infinity, "x": '),
    "no config": lambda c: json.dumps({k: v for k, v in c.items() if k != "config"}),
    "config a list": lambda c: json.dumps({**c, "config": []}),
    "unknown setting": lambda c: json.dumps({**c, "config": {**c["config"], "x": 1}}),
    "seed a string": lambda c: json.dumps({**c, "seed": "7"}),
    "seed 1e30": lambda c: json.dumps({**c, "seed": 10**30}),
    "latent_dim 1e9": lambda c: json.dumps({**c, "config": {**c["config"], "latent_dim": 10**9}}),
    "encoder_width 1e9": lambda c: json.dumps(
        {**c, "config": {**c["config"], "encoder_width": 1e9}}
    ),
    "huge": lambda c: " " * (65 << 20) + json.dumps(c),
}


@pytest.mark.parametrize("case", sorted(BAD_LEARNED_CONFIGS))
def test_hostile_learned_run_config_is_a_clear_error(learned_dir, tmp_path, case):
    from rdlab.models.learned import load_learned_codec

    run = _copy_run(learned_dir, tmp_path)
    _edit_json(run / "config.json", BAD_LEARNED_CONFIGS[case])
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"config|settings|latent_dim|encoder_width|seed|JSON"):
        load_learned_codec(run)
    assert time.perf_counter() - t0 < 5.0


BAD_NERD_CONFIGS = {
    "a list": "[]",
    "deeply nested": _DEEP,
    "no architecture": lambda c: json.dumps({k: v for k, v in c.items() if k != "architecture"}),
    "params a string": lambda c: json.dumps(
        {**c, "architecture": {**c["architecture"], "params": "ab"}}
    ),
    "latent_dim 1e9": lambda c: json.dumps(
        {**c, "architecture": {**c["architecture"], "latent_dim": 10**9}}
    ),
    "width 1e9": lambda c: json.dumps(
        {**c, "architecture": {**c["architecture"], "params": {"width": 10**9}}}
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_NERD_CONFIGS))
def test_hostile_nerd_run_config_is_a_clear_error(nerd_dir, tmp_path, case):
    from rdlab.coding.rcc.nerd import nerd_output

    run = _copy_run(nerd_dir, tmp_path)
    _edit_json(run / "config.json", BAD_NERD_CONFIGS[case])
    t0 = time.perf_counter()
    with pytest.raises(ValueError):
        nerd_output(run)
    assert time.perf_counter() - t0 < 5.0


@pytest.mark.parametrize("text", ["[]", "null", '{"estimate": {"slope": "x"}}', _DEEP])
def test_hostile_nerd_results_are_a_clear_error(nerd_dir, tmp_path, text):
    from rdlab.coding.rcc.nerd import nerd_output

    run = _copy_run(nerd_dir, tmp_path)
    (run / "results.json").write_text(text)
    with pytest.raises(ValueError, match=r"results\.json"):
        nerd_output(run)


def test_learned_results_that_are_not_an_object_are_refused(learned_dir, tmp_path):
    from rdlab.cli.main import main

    run = _copy_run(learned_dir, tmp_path)
    (run / "results.json").write_text("[]")
    assert main(["lc", "eval", str(run), "--json"]) == 2


@pytest.mark.parametrize(
    "state, match",
    [
        ({}, "lacks step"),
        ({"step": -1}, "step"),
        ({"step": "3"}, "step"),
        ({"step": 1, "history": {}}, "history"),
        ({"step": 1, "sums": {"rate": "x"}}, "sums"),
        ({"step": 1, "beta_nats": "inf"}, "beta_nats"),
    ],
)
def test_checkpoint_state_is_checked(tmp_path, state, match):
    torch = pytest.importorskip("torch")
    from rdlab.core.rundir import RunDir

    rd = RunDir(tmp_path / "run")
    rd.save_checkpoint("train", {"w": torch.zeros(2)}, state, architecture={"name": "x"})
    with pytest.raises(ValueError, match=match):
        rd.load_checkpoint("train", required=("step",))


def test_build_bounded_sizes_on_the_meta_device_first():
    torch = pytest.importorskip("torch")
    from rdlab.core.torch_state import build_bounded

    state = torch.random.get_rng_state()
    with pytest.raises(ValueError, match=r"net .* over the limit"):
        build_bounded(lambda: torch.nn.Linear(1 << 16, 1 << 16), "net", max_parameters=1 << 20)
    with pytest.raises(ValueError, match=r"net cannot be built"):
        build_bounded(lambda: torch.nn.Linear(-1, 2), "net")
    assert torch.equal(state, torch.random.get_rng_state())  # the probe leaves it alone
    torch.manual_seed(0)
    a = build_bounded(lambda: torch.nn.Linear(3, 2), "net")
    torch.manual_seed(0)
    assert torch.equal(a.weight, torch.nn.Linear(3, 2).weight)


# -- the command line: one line, exit 2 -----------------------------------------------------------
@pytest.fixture
def bad_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    np.savez("a.npz", x=np.zeros((3, 4)))
    np.save("g.npy", rng.normal(size=(3, 20)))
    np.save("q.npy", rng.normal(size=(20, 4)))
    Path("zero.npy").write_bytes(b"")
    Path("afile").write_text("mine")
    return tmp_path


CLI_REPRODUCERS = [
    ["rd", "gaussian", "--var", "4,2,1", "--points", "5", "--rate=1e6"],
    ["rd", "gaussian", "--var", "1", "--distortion=1e-320"],
    ["rd", "gaussian", "--var", "1", "--points=100000000"],
    ["ecot", "gaussian", "--mx=1e308"],
    ["rcc", "encode", "--q", "gaussian20", "--distortion", "0.5", "a.npz", "o.rdl"],
    ["rcc", "encode", "--q", "gaussian20", "--distortion", "0.5", "zero.npy", "o.rdl"],
    ["rcc", "encode", "--q", "gaussian20", "--distortion", "0.5", "g.npy", "afile/o.rdl"],
    ["rd", "discrete", "--pmf", "zero.npy", "--distortion", "zero.npy"],
    ["rd", "gaussian", "--var", "1", "--plot", "afile/x.png"],
    ["rd", "gaussian", "--var", "1", "--plot", "."],
    ["sample", "--source", "gaussian20", "--n", "3", "--seed", "0", "afile/x.npy"],
    [
        "retrieval",
        "eval",
        "--queries",
        "zero.npy",
        "--docs",
        "q.npy",
        "--modalities",
        "2,2",
        "--bits",
        "4",
    ],
    [
        "retrieval",
        "eval",
        "--queries",
        "a.npz",
        "--docs",
        "q.npy",
        "--modalities",
        "2,2",
        "--bits",
        "4",
    ],
    ["lc", "train", "--latent-dim=100000000", "--out", "r"],
    ["lc", "train", "--encoder-width=1e9", "--out", "r"],
    ["lc", "train", "--out", "afile/r"],
    ["nerd", "--source", "gaussian20", "--D", "1", "--out", "afile/r"],
]


@pytest.mark.parametrize("argv", CLI_REPRODUCERS, ids=" ".join)
def test_bad_command_lines_are_one_line_and_exit_2(bad_files, capsys, argv):
    from rdlab.cli.main import main

    t0 = time.perf_counter()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("rdlab: error: ") and err.count("\n") == 1, err
    assert time.perf_counter() - t0 < 10.0
    assert Path("afile").read_text() == "mine"


def test_bad_model_inputs_and_outputs(bad_files, learned_dir, capsys):
    from rdlab.cli.main import main
    from rdlab.models.learned import load_split

    model = ["--model", str(learned_dir)]
    assert main(["lc", "encode", *model, "zero.npy", "o.rdl"]) == 2
    np.save("d.npy", load_split("digits", "test", n=4)[:, 0])  # (n, H, W): one channel
    assert main(["lc", "encode", *model, "d.npy", "d.rdl"]) == 0
    assert main(["lc", "decode", *model, "d.rdl", "recon.bin"]) == 2
    assert not list(bad_files.glob("recon*")) and not list(bad_files.glob(".recon*"))
    capsys.readouterr()
    assert main(["lc", "decode", *model, "d.rdl", "recon.npy"]) == 0
    assert sorted(p.name for p in bad_files.glob("*recon*")) == ["recon.npy"]
    assert np.load("recon.npy").shape == (4, 1, 8, 8)


def test_outputs_get_the_users_umask(tmp_path):
    import os

    from rdlab.core.io import save_npy_atomic, write_bytes_atomic

    old = os.umask(0o022)
    try:
        a = save_npy_atomic(tmp_path / "a.npy", np.zeros(3))
        b = write_bytes_atomic(tmp_path / "b.rdl", b"x")
        os.umask(0o077)
        c = write_bytes_atomic(tmp_path / "c.rdl", b"x")
        os.chmod(b, 0o640)
        write_bytes_atomic(b, b"y")  # replacing keeps the file's mode
    finally:
        os.umask(old)
    assert a == tmp_path / "a.npy" and sorted(p.name for p in tmp_path.iterdir()) == [
        "a.npy", "b.rdl", "c.rdl",
    ]  # fmt: skip
    assert (a.stat().st_mode & 0o777, b.stat().st_mode & 0o777) == (0o644, 0o640)
    assert c.stat().st_mode & 0o777 == 0o600


HOSTILE_VALUES = ["-1", "0", "1e308", "-1e308", "nan", "inf", "1e-320", "9" * 20, "abc", ""]
CHEAP_COMMANDS = {
    ("rd", "gaussian"): (["--var", "4,2,1"], ["--var", "--points", "--rate", "--distortion"]),
    ("rd", "bernoulli"): (["--p", "0.3"], ["--p", "--points", "--distortion"]),
    ("rdp", "gaussian"): (
        ["--var", "1", "--rate", "1"],
        ["--var", "--rate", "--points", "--max-perception"],
    ),
    ("ecot", "gaussian"): ([], ["--mx", "--my", "--sx", "--sy", "--points", "--rate-max"]),
    ("ecot", "binary"): (["--qx", "0.3", "--qy", "0.6"], ["--qx", "--qy", "--points"]),
    ("ecot", "uniform"): ([], ["--levels"]),
    ("retrieval", "bound"): (
        ["--corpus", "100"],
        ["--corpus", "--points", "--rate", "--max-distortion"],
    ),
}


@pytest.mark.parametrize("command", sorted(CHEAP_COMMANDS), ids=" ".join)
def test_every_numeric_option_at_hostile_values(capsys, command):
    """Each numeric option of the closed-form commands at edge values: a result without NaN or
    infinity, or one line and exit 2 (argparse's own usage errors included)."""
    from rdlab.cli.main import main

    base, options = CHEAP_COMMANDS[command]
    for option in options:
        for value in HOSTILE_VALUES:
            argv = list(command) + base
            if option in argv:
                i = argv.index(option)
                del argv[i : i + 2]
            argv += [f"{option}={value}", "--json"]
            t0 = time.perf_counter()
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse: a value of the wrong type
                code = exc.code
            out, err = capsys.readouterr()
            assert time.perf_counter() - t0 < 5.0, argv
            if code == 0:
                assert not any(w in out for w in ("NaN", "Infinity", "null")), (argv, out[:300])
            else:
                assert code == 2 and "Traceback" not in err, (argv, err)
                assert err.startswith("usage:") or err.count("\n") == 1, (argv, err)
