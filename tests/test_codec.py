"""The one codec interface: the protocol, the registry, CodecReport, goldens, and
``rdlab encode / decode / info`` round trips of every codec, bit for bit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from rdlab.coding.codec import (
    Codec,
    CodecReport,
    ModelRequiredError,
    codec_entry,
    decoder_for,
    measure_codec,
    read_stream,
    registered_codecs,
)
from rdlab.coding.container import CODEC_IDS, OVERHEAD_BYTES, BitstreamError
from rdlab.coding.pq import PQCodec, ProductQuantizer
from rdlab.coding.rcc import RCCCodec
from rdlab.core.distortion import convert_distortion, per_sample_distortion
from toy_codecs import (
    DATA,
    make_pq_file,
    pq_queries,
    toy_codecs,
    toy_inputs,
    toy_learned,
    toy_pq,
)

REGENERATE = os.environ.get("RDLAB_REGENERATE_GOLDEN") == "1"


# -- the protocol and the registry -------------------------------------------------------------
def test_every_codec_follows_the_protocol_and_is_registered():
    assert [(e.codec_id, e.name) for e in registered_codecs()] == sorted(CODEC_IDS.items())
    for name, codec in toy_codecs().items():
        assert isinstance(codec, Codec), name
        assert codec.name == name and codec_entry(name) is codec_entry(codec.codec_id)
        assert CODEC_IDS[codec.codec_id] == name
        assert len(codec.identity()) == 32


def test_codec_ids_are_fixed_forever():
    # wire format: a new codec takes a new number, numbers are never reused or reordered
    assert CODEC_IDS == {1: "rcc", 2: "learned", 3: "pq"}
    with pytest.raises(ValueError, match="unknown codec"):
        codec_entry("jpeg")
    with pytest.raises(ValueError, match="unknown codec"):
        codec_entry(99)


@pytest.mark.parametrize("name", ["rcc", "learned", "pq"])
def test_measure_codec_relates_the_rates(name):
    codec, x = toy_codecs()[name], toy_inputs()[name]
    r = measure_codec(codec, x, seed=11, keep_bitstream=True)
    assert isinstance(r, CodecReport) and r.codec == name
    n = x.shape[0]
    assert r.n_samples == n and r.bitstream_bytes == len(r.bitstream)
    stream = read_stream(r.bitstream, codec=name)
    assert r.rate_bits == 8 * len(r.bitstream) / n
    assert r.rate_payload_bits == 8 * len(stream.payload) / n
    header_bytes = len(r.bitstream) - len(stream.payload) - OVERHEAD_BYTES
    assert r.rate_bits - r.rate_payload_bits == pytest.approx(
        8 * (OVERHEAD_BYTES + header_bytes) / n
    )
    # the payload pays at least its information content, less one 32-bit word of slack
    assert r.rate_payload_bits >= r.rate_information_bits - 32 / n
    assert r.distortion == pytest.approx(
        per_sample_distortion(
            codec.check_input(x), codec.decode(r.bitstream), r.distortion_measure
        ).mean()
    )
    d = r.to_dict()
    assert "bitstream" not in d and d["rate_bits"] == r.rate_bits
    assert d["distortion_measure"] == codec.distortion_measure
    with pytest.raises(AttributeError):
        r.rate_bits = 0.0  # frozen


def test_rcc_report_checks_the_round_trip_and_has_the_one_shot_rate():
    r = measure_codec(toy_codecs()["rcc"], toy_inputs()["rcc"], seed=2)
    assert r.round_trip_identical is True
    assert r.extra_rates["rate_one_shot_bits"] >= r.rate_information_bits
    assert r.rate_bound_bits == pytest.approx(7.0)  # R(D) = 1 bit: 1 + log2(2) + 5
    assert measure_codec(toy_codecs()["pq"], pq_queries()).round_trip_identical is None


@pytest.mark.parametrize("name", ["rcc", "learned", "pq"])
def test_decoder_for_checks_the_model(name):
    codec, x = toy_codecs()[name], toy_inputs()[name]
    data = codec.encode(x, seed=4)
    assert np.array_equal(decoder_for(data, codec).decode(data), codec.decode(data))
    if name == "rcc":  # the exact Q_Y is rebuilt from the header
        assert decoder_for(data).decode(data).tobytes() == codec.decode(data).tobytes()
    else:
        with pytest.raises(ModelRequiredError, match="--model"):
            decoder_for(data)
    other = {
        "rcc": toy_codecs()["pq"],
        "learned": toy_codecs()["rcc"],
        "pq": toy_codecs()["learned"],
    }
    with pytest.raises(BitstreamError, match="written by codec"):
        decoder_for(data, other[name])


def test_another_model_of_the_same_codec_is_refused():
    data = toy_codecs()["rcc"].encode(toy_inputs()["rcc"], seed=1)
    wrong = RCCCodec.gaussian("gaussian:2", distortion=0.25, n_candidates=64)
    with pytest.raises(BitstreamError, match="wrong Q_Y"):
        decoder_for(data, wrong)
    with pytest.raises(BitstreamError, match="wrong Q_Y"):
        wrong.decode(data)


# -- goldens: the bytes of each codec never change by accident -----------------------------------
GOLDENS = {
    "rcc_scalar_pfr_range.rdl": ("rcc", 2024),
    "learned_uq_example.rdl": ("learned", 2024),
    "pq_centroid.rdl": ("pq", 5),
}


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_golden_stream_through_the_codec(name):
    kind, seed = GOLDENS[name]
    if REGENERATE and kind == "pq":
        make_pq_file(DATA / "pq_golden.safetensors")
    codec = toy_codecs()[kind]
    data = codec.encode(toy_inputs()[kind], seed=seed)
    if REGENERATE and kind != "rcc":  # the RCC golden is owned by tests/test_rcc.py
        (DATA / name).write_bytes(data)
    golden = (DATA / name).read_bytes()
    assert data == golden, f"{name} changed; regenerate with RDLAB_REGENERATE_GOLDEN=1"
    assert np.array_equal(codec.decode(golden), codec.decode(data))


def test_learned_golden_is_the_documented_example():
    golden = (DATA / "learned_uq_example.rdl").read_bytes()
    doc = (Path(__file__).parents[1] / "docs" / "bitstream.md").read_text()
    assert len(golden) == 116 and "116 bytes" in doc
    assert np.array_equal(toy_learned().decode(golden)[:, 0, 0, :3], [[0, 1, 5], [2, 0, 7]])


def test_pq_golden_quantiser_file_round_trips(tmp_path):
    pq = toy_pq()
    assert PQCodec(pq).rate_bound_bits == 8.0 and pq.dim == 8
    pq.save(tmp_path / "again.safetensors")
    again = ProductQuantizer.load(tmp_path / "again.safetensors")
    assert again.identity() == pq.identity()
    with pytest.raises(FileExistsError):
        pq.save(tmp_path / "again.safetensors")
    data = PQCodec(pq, codeword="sample").encode(pq_queries(), seed=3)
    assert np.array_equal(PQCodec(again).decode(data), PQCodec(pq).decode(data))


def test_pq_sampled_codewords_come_from_the_header_seed():
    pq = toy_pq()
    codec = PQCodec(pq, codeword="sample")
    a, b = codec.encode(pq_queries(), seed=1), codec.encode(pq_queries(), seed=2)
    assert read_stream(a).header.codeword == "sample"
    # a centroid-codeword decoder of the same quantiser follows the header's codeword
    assert np.array_equal(PQCodec(pq).decode(a), codec.decode(a))
    assert not np.array_equal(codec.decode(a), codec.decode(b))


def test_bad_quantiser_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="not a readable safetensors"):
        ProductQuantizer.load(bad)
    from safetensors.numpy import save_file

    save_file({"x": np.zeros(2)}, str(bad), metadata={"format": "something else"})
    with pytest.raises(ValueError, match="not a saved rdlab product quantiser"):
        ProductQuantizer.load(bad)
    with pytest.raises(FileNotFoundError):
        ProductQuantizer.load(tmp_path / "missing.safetensors")


# -- distortion measures -------------------------------------------------------------------------
def test_per_sample_and_per_component_distortions_convert():
    rng = np.random.default_rng(0)
    x, y = rng.random((6, 1, 4, 4)), rng.random((6, 1, 4, 4))
    se = per_sample_distortion(x, y, "squared_error")
    mse = per_sample_distortion(x, y, "mse_per_component")
    np.testing.assert_allclose(se, 16 * mse)
    m = float(mse.mean())
    assert convert_distortion(
        m, measure="mse_per_component", to="squared_error", components=16
    ) == (pytest.approx(float(se.mean())))
    assert convert_distortion(2.0, measure="squared_error", to="squared_error", components=3) == 2.0
    with pytest.raises(ValueError, match="cannot convert"):
        convert_distortion(1.0, measure="hamming", to="squared_error", components=2)
    with pytest.raises(ValueError, match="distortion_measure must be one of"):
        per_sample_distortion(x, y, "mse")
    with pytest.raises(ValueError, match="components"):
        convert_distortion(1.0, measure="squared_error", to="mse_per_component", components=0)


# -- rdlab encode / decode / info, every codec, bit for bit ----------------------------------------
def _round_trip(cli, tmp_path, model, x, *, decode_model=None, extra=()):
    np.save(tmp_path / "x.npy", x)
    stream, recon = tmp_path / "x.rdl", tmp_path / "y.npy"
    code, out, err = cli(
        "encode", model, tmp_path / "x.npy", stream, "--seed", 7, "--json", "--no-progress", *extra
    )
    assert code == 0, err
    enc = json.loads(out)
    assert enc["rate_bits"] == 8 * stream.stat().st_size / x.shape[0]
    assert enc["bitstream_bytes"] == stream.stat().st_size and enc["seed"] == 7
    argv = ["decode", stream, recon, "--json", "--no-progress"]
    if decode_model is not None:
        argv += ["--model", decode_model]
    code, out, err = cli(*argv)
    assert code == 0, err
    dec = json.loads(out)
    assert dec["n_samples"] == x.shape[0] and dec["codec"] == enc["codec"]
    code, out, err = cli("info", stream, "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["codec"] == enc["codec"] and info["n_samples"] == x.shape[0]
    assert info["model_identity"] == enc["model_identity"]
    # a second encode with the same seed writes the same bytes
    again = tmp_path / "again.rdl"
    assert (
        cli("encode", model, tmp_path / "x.npy", again, "--seed", 7, "--no-progress", *extra)[0]
        == 0
    )
    assert again.read_bytes() == stream.read_bytes()
    return enc, np.load(recon), stream.read_bytes()


def test_cli_round_trip_rcc(cli, tmp_path):
    x = np.random.default_rng(0).standard_normal((25, 3)) * [2.0, 1.0, 0.5]
    enc, y, data = _round_trip(
        cli,
        tmp_path,
        "rcc:gaussian:4,1,0.25",
        x,
        extra=("--distortion", "1", "--n-candidates", "256"),
    )
    assert enc["codec"] == "rcc" and enc["distortion_measure"] == "squared_error"
    assert (
        y.tobytes()
        == RCCCodec.gaussian("gaussian:4,1,0.25", distortion=1.0, n_candidates=256)
        .decode(data)
        .tobytes()
    )
    assert np.mean(np.sum((x - y) ** 2, axis=1)) == pytest.approx(enc["distortion"])
    # --model of a Gaussian names the source; another source is refused
    code, _, err = cli(
        "decode", tmp_path / "x.rdl", tmp_path / "z.npy", "--model", "rcc:gaussian:1"
    )
    assert code == 2 and "wrong Q_Y" in err


def test_cli_round_triptoy_pq(cli, tmp_path):
    enc, y, data = _round_trip(
        cli, tmp_path, DATA / "pq_golden.safetensors", pq_queries(),
        decode_model=DATA / "pq_golden.safetensors",
    )  # fmt: skip
    assert enc["codec"] == "pq" and enc["rate_bound_bits"] == 8.0
    assert np.array_equal(y, PQCodec(toy_pq()).decode(data))
    code, _, err = cli("decode", tmp_path / "x.rdl", tmp_path / "z.npy")
    assert code == 2 and "--model" in err and "Traceback" not in err


def test_cli_round_trip_learned_and_nerd(cli, tmp_path):
    pytest.importorskip("torch")
    from rdlab.models.learned import learned_run, load_learned_codec, load_split, preset_config

    run = tmp_path / "lc"
    cfg = preset_config(
        "quick", "digits", quantizer="uq", latent_dim=3, levels=3, epochs=1, n_train=256,
        n_test=64, fresh_critic_steps=0,
    )  # fmt: skip
    learned_run(cfg, run, seed=0)
    x = load_split("digits", "test", n=12)
    enc, y, data = _round_trip(cli, tmp_path, run, x, decode_model=run)
    assert enc["codec"] == "learned" and enc["distortion_measure"] == "mse_per_component"
    assert np.array_equal(y, load_learned_codec(run).decode(data))
    code, _, err = cli("decode", tmp_path / "x.rdl", tmp_path / "z.npy")
    assert code == 2 and "--model RUN_DIR" in err and "Traceback" not in err
    # the lc aliases read and write the same streams
    assert cli("lc", "decode", "--model", run, tmp_path / "x.rdl", tmp_path / "z.npy")[0] == 0
    assert np.array_equal(np.load(tmp_path / "z.npy"), y)

    from rdlab.estimators.nerd import NERDConfig, nerd_point
    from rdlab.sources.base import GaussianSource

    nerd = tmp_path / "nerd"
    small = NERDConfig(
        steps=40, batch_size=64, generator_batch=256, lr=5e-3, n_train=1000, n_eval=128,
        eval_samples=1000, eval_chunk=1000, checkpoint_every=1000, log_every=20,
    )  # fmt: skip
    src = GaussianSource(np.diag([1.0, 0.5]))
    nerd_point(src, seed=0, slope=-2.0, config=small, run_dir=nerd, source_name="g2")
    z = np.random.default_rng(1).normal(size=(10, 2))
    io = tmp_path / "io"
    io.mkdir()
    enc, y, data = _round_trip(cli, io, nerd, z, decode_model=nerd, extra=("--n-candidates", "128"))
    assert enc["codec"] == "rcc" and enc["output_spec"]["kind"] == "generator"
    code, _, err = cli("decode", io / "x.rdl", io / "w.npy")
    assert code == 2 and "NERD run" in err


def test_cli_encode_errors_are_one_line(cli, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 2)))
    cases = [
        (("encode", "rcc:gaussian:1,1", tmp_path / "x.npy", tmp_path / "a.rdl"), "distortion"),
        (
            ("encode", tmp_path / "nowhere", tmp_path / "x.npy", tmp_path / "a.rdl"),
            "does not exist",
        ),
        (
            ("encode", "rcc:gaussian:1,1", tmp_path / "x.npy", tmp_path / "a.bin", "--slope", "-1"),
            ".rdl",
        ),
        (("info", tmp_path / "x.npy"), "not an rdlab bitstream"),
        (("decode", tmp_path / "missing.rdl", tmp_path / "y.npy"), "does not exist"),
    ]
    for argv, message in cases:
        code, _, err = cli(*argv)
        assert code == 2, argv
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
