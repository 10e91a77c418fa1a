"""The learned codec's bitstream: categorical model, range-coded symbols, header and container."""

import math
import struct
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitstream_fuzz import mutate, mutations, reseal, time_limit
from rdlab.coding.categorical import (
    CategoricalModel,
    decode_symbols,
    empirical_entropy_bits,
    encode_symbols,
)
from rdlab.coding.container import BitstreamError, pack_container
from rdlab.coding.learned import (
    LEARNED_CODEC_ID,
    LearnedHeader,
    QuantizedLatentCodec,
    read_learned_header,
)
from rdlab.coding.quantizers import PRIVATE_DITHER_TAG, dither, level_step, private_dither


def pack_learned(header, payload):
    """A learned-codec stream of ``header`` and ``payload``."""
    if not isinstance(header, LearnedHeader):
        raise TypeError(f"header must be a LearnedHeader, got {type(header).__name__}")
    return pack_container(LEARNED_CODEC_ID, header.to_bytes(), payload)


def _draw(rng, levels, n, skew=1.0):
    """Symbols whose column j follows a (skewed) random pmf over levels[j]."""
    cols = []
    for size in levels:
        p = rng.dirichlet(np.full(size, skew))
        cols.append(rng.choice(size, size=n, p=p))
    return np.stack(cols, axis=1)


# -- round trip ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "levels, n",
    [((3, 3, 3, 8, 8), 500), ((3, 3, 3, 8, 8), 1), ((5,), 300), ((2,), 1), ((256, 2, 17), 64)],
)
def test_round_trip(levels, n):
    rng = np.random.default_rng(sum(levels) + n)
    model = CategoricalModel.fit(_draw(rng, levels, 200), levels)
    symbols = rng.integers(0, levels, size=(n, len(levels)))
    payload = encode_symbols(symbols, model)
    assert len(payload) % 4 == 0
    out = decode_symbols(payload, n, model)
    assert out.dtype == np.int64 and out.shape == (n, len(levels))
    np.testing.assert_array_equal(out, symbols)


def test_empty_batch_and_rare_symbols():
    model = CategoricalModel.fit(np.zeros((1000, 2), dtype=np.int64), (4, 4))
    assert encode_symbols(np.zeros((0, 2), dtype=np.int64), model) == b""
    assert decode_symbols(b"", 0, model).shape == (0, 2)
    # symbols never seen in training stay encodable (strictly positive probabilities)
    rare = np.full((50, 2), 3)
    np.testing.assert_array_equal(decode_symbols(encode_symbols(rare, model), 50, model), rare)


# -- bytes vs information content ----------------------------------------------------------
def test_payload_bytes_match_information_content():
    rng = np.random.default_rng(7)
    levels = (3, 3, 3, 8, 8, 16, 2)
    pmfs = [rng.dirichlet(np.full(size, 0.3)) for size in levels]

    def sample(n):
        return np.stack(
            [rng.choice(s, size=n, p=p) for s, p in zip(levels, pmfs, strict=True)], axis=1
        )

    model = CategoricalModel.fit(sample(2000), levels)
    test = sample(3000)
    info = model.information_bits(test)
    bits = 8 * len(encode_symbols(test, model))
    assert bits >= info - 64
    assert bits <= 1.01 * info + 64 * 8
    # the skewed source is far below the fixed-length rate
    assert info < 0.8 * test.shape[0] * sum(math.log2(s) for s in levels)


def test_information_bits_uses_the_coders_quantised_probabilities():
    # probabilities below 2^-24 are raised to constriction's floor; float -log2 p would be off
    # by more than 2 bits per symbol here, the quantised ones match the bytes within a word
    size = 40
    p = np.full(size, 3.6 / 2**24)
    p[0] = 1.0 - p[1:].sum()
    model = CategoricalModel((p,))
    symbols = np.random.default_rng(0).integers(1, size, size=(5000, 1))
    info = model.information_bits(symbols)
    float_info = float(np.sum(-np.log2(p[symbols[:, 0]])))
    bits = 8 * len(encode_symbols(symbols, model))
    assert float_info - info > 1000
    assert info - 8 <= bits <= info + 64


# -- empirical entropy -------------------------------------------------------------------
def test_empirical_entropy_hand_computation():
    symbols = np.array([[0, 0, 1], [0, 1, 1], [1, 2, 1], [0, 3, 1]])
    # column 0: p = (3/4, 1/4); column 1: uniform on 4 symbols; column 2: constant
    h0 = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))
    assert empirical_entropy_bits(symbols, (2, 4, 3)) == pytest.approx(h0 + 2.0, abs=1e-12)
    assert empirical_entropy_bits(np.full((10, 3), 2), 5) == 0.0
    rng = np.random.default_rng(1)
    levels = (3, 8, 8)
    symbols = rng.integers(0, levels, size=(100, 3))
    assert empirical_entropy_bits(symbols, levels) <= sum(math.log2(s) for s in levels) + 1e-12


def test_empirical_entropy_is_the_rate_of_a_self_fitted_model():
    rng = np.random.default_rng(2)
    levels = (3, 3, 8)
    symbols = _draw(rng, levels, 5000, skew=0.5)
    h = empirical_entropy_bits(symbols, levels)
    model = CategoricalModel.fit(symbols, levels, pseudocount=1e-6)
    assert model.information_bits(symbols) / 5000 == pytest.approx(h, abs=1e-3)


# -- the model -----------------------------------------------------------------------------
def test_fit_storage_and_identity():
    rng = np.random.default_rng(3)
    levels = (3, 3, 3, 8, 8)
    model = CategoricalModel.fit(_draw(rng, levels, 100), levels, pseudocount=0.5)
    assert model.levels == levels and model.dim == 5
    for p, size in zip(model.pmfs, levels, strict=True):
        assert p.dtype == np.float64 and p.shape == (size,)
        assert np.all(p > 0) and abs(p.sum() - 1.0) < 1e-12
    # pmf_j(k) = (count + a) / (n + a L_j)
    symbols = np.array([[0], [0], [2]])
    np.testing.assert_allclose(
        CategoricalModel.fit(symbols, 3, pseudocount=0.5).pmfs[0], [2.5 / 4.5, 0.5 / 4.5, 1.5 / 4.5]
    )
    array = model.to_array()
    assert array.shape == (5, 8) and array.dtype == np.float64
    assert np.all(array[0, 3:] == 0)
    back = CategoricalModel.from_array(array, levels)
    assert back == model
    assert back.identity() == model.identity() and len(model.identity()) == 32
    pmfs = list(model.pmfs)
    pmfs[3] = pmfs[3].copy()
    pmfs[3][:2] += [1e-3, -1e-3]
    other = CategoricalModel(tuple(pmfs))
    assert other != model and other.identity() != model.identity()
    # stable across runs and platforms: the digest of a fixed model is a constant
    fixed = CategoricalModel.from_array([[0.25, 0.75]], [2])
    assert fixed.identity().hex() == (
        "e36da6a3e25d829f06893099ea97458daf0b52cfa1cdee22060f398c0beee047"
    )
    with pytest.raises(ValueError, match="zero after"):
        CategoricalModel.from_array(array, (3, 3, 3, 8, 7))
    with pytest.raises(ValueError, match="shape"):
        CategoricalModel.from_array(array[:, :7], levels)


def test_pmfs_are_read_only_and_validated():
    model = CategoricalModel((np.array([0.5, 0.5]),))
    with pytest.raises(ValueError):
        model.pmfs[0][0] = 1.0
    with pytest.raises(ValueError, match="pmfs"):
        CategoricalModel((np.array([1.0, 0.0]),))
    with pytest.raises(ValueError, match="sum to 1"):
        CategoricalModel((np.array([0.5, 0.6]),))
    with pytest.raises(ValueError, match="pmfs"):
        CategoricalModel((np.array([1.0]),))
    with pytest.raises(ValueError, match="pmfs"):
        CategoricalModel(())


# -- header and container ------------------------------------------------------------------
def _header(**kw):
    base = dict(
        model_identity=bytes(range(32)),
        quantizer="uq",
        levels=(3,) * 10 + (8,) * 6,
        n_samples=1234,
        seed=2**64 - 1,
        input_shape=(1, 28, 28),
    )
    base.update(kw)
    return LearnedHeader(**base)


def test_header_round_trip_and_layout():
    for header in (
        _header(),
        _header(quantizer="dq", levels=(5,), n_samples=0, seed=0, input_shape=()),
    ):
        raw = header.to_bytes()
        assert LearnedHeader.from_bytes(raw) == header
    header = _header()
    raw = header.to_bytes()
    assert raw[0] == 1  # header format
    assert raw[1] == 2  # "uq"
    assert raw[2] == 3 and raw[3] == 0
    assert struct.unpack_from("<QQ", raw, 4) == (1234, 2**64 - 1)
    assert raw[20:52] == bytes(range(32))
    assert struct.unpack_from("<3I", raw, 52) == (1, 28, 28)
    assert struct.unpack_from("<5I", raw, 64) == (2, 10, 3, 6, 8)  # two runs of levels
    assert len(raw) == 84
    assert isinstance(_header(levels=[3, 3]).levels, tuple)


def test_stream_round_trip_and_model_identity():
    rng = np.random.default_rng(4)
    levels = (3, 3, 3, 8, 8)
    model = CategoricalModel.fit(_draw(rng, levels, 300), levels)
    symbols = _draw(rng, levels, 40)
    header = _header(model_identity=model.identity(), levels=levels, n_samples=40, seed=11)
    data = pack_learned(header, encode_symbols(symbols, model))
    h, payload = read_learned_header(data, model_identity=model.identity())
    assert h == header
    np.testing.assert_array_equal(decode_symbols(payload, h.n_samples, model), symbols)
    assert read_learned_header(data)[0] == header
    other = bytes(32)
    with pytest.raises(BitstreamError) as info:
        read_learned_header(data, model_identity=other)
    message = str(info.value)
    assert model.identity().hex()[:16] in message and other.hex()[:16] in message
    assert "decode with the model that encoded it" in message
    with pytest.raises(BitstreamError, match="rcc"):
        read_learned_header(pack_container(1, header.to_bytes(), payload))
    with pytest.raises(BitstreamError):
        read_learned_header(b"")
    assert LEARNED_CODEC_ID == 2


def test_resealed_header_fields_are_validated():
    data = pack_learned(_header(n_samples=0), b"")
    start = 24  # the codec header follows the container prefix
    edits = {
        "header format 7": (0, b"\x07"),
        "quantizer code 5": (1, b"\x05"),
        "input dimensions": (2, b"\x09"),
        "reserved": (3, b"\x01"),
        "inputs": (4, struct.pack("<Q", 2**41)),
        "input shape": (52, struct.pack("<I", 0)),
        "level runs": (64, struct.pack("<I", 3)),
        "level run": (68, struct.pack("<I", 0)),
    }
    for message, (offset, value) in edits.items():
        body = bytearray(data[:-4])
        body[start + offset : start + offset + len(value)] = value
        with pytest.raises(BitstreamError, match=message):
            read_learned_header(reseal(bytes(body)))
    # adjacent runs with the same levels are not canonical
    body = bytearray(data[:-4])
    body[start + 80 : start + 84] = struct.pack("<I", 3)
    with pytest.raises(BitstreamError, match="level run"):
        read_learned_header(reseal(bytes(body)))


def test_payload_inconsistent_with_count_or_model():
    rng = np.random.default_rng(5)
    levels = (3, 8)
    model = CategoricalModel.fit(_draw(rng, levels, 300), levels)
    symbols = _draw(rng, levels, 100)
    payload = encode_symbols(symbols, model)
    for bad, n in (
        (payload, 101),  # another count
        (payload, 99),
        (payload + bytes(4), 100),  # a trailing word
        (payload[:-4], 100),  # a missing word
        (payload[:-1], 100),  # not whole words
        (payload, 10**12),  # more inputs than the payload can hold
    ):
        with pytest.raises(BitstreamError):
            decode_symbols(bad, n, model)
    other = CategoricalModel.fit(_draw(rng, levels, 300), levels)
    try:
        out = decode_symbols(payload, 100, other)
    except BitstreamError:
        pass
    else:  # another model may happen to accept the payload, never silently misshaped
        assert out.shape == (100, 2)


# -- fuzz: corrupted and truncated streams -------------------------------------------------
_LEVELS = (3, 3, 3, 8, 8)
_MODEL = CategoricalModel.fit(_draw(np.random.default_rng(6), _LEVELS, 500), _LEVELS)
_SYMBOLS = _draw(np.random.default_rng(8), _LEVELS, 30)
_STREAM = pack_learned(
    LearnedHeader(_MODEL.identity(), "nq", _LEVELS, 30, 5, (2, 3)),
    encode_symbols(_SYMBOLS, _MODEL),
)


@settings(
    max_examples=1500,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutation=mutations)
def test_fuzz_corrupted_streams_raise_only_bitstream_error(mutation):
    data, must_fail = mutate(_STREAM, mutation)
    with time_limit(5.0):
        try:
            header, payload = read_learned_header(data)
            out = decode_symbols(payload, header.n_samples, _MODEL)
        except BitstreamError:
            return
    assert not must_fail, "a corrupted stream decoded without an error"
    assert out.shape == (header.n_samples, _MODEL.dim)
    assert np.all((out >= 0) & (out < np.asarray(_MODEL.levels)))
    if header.n_samples == 30 and payload == _STREAM[-4 - len(payload) : -4]:
        np.testing.assert_array_equal(out, _SYMBOLS)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(payload=st.binary(max_size=64).map(lambda b: b[: len(b) // 4 * 4]), n=st.integers(0, 50))
def test_fuzz_random_payloads_raise_only_bitstream_error(payload, n):
    with time_limit(5.0):
        try:
            out = decode_symbols(payload, n, _MODEL)
        except BitstreamError:
            return
    assert out.shape == (n, _MODEL.dim)
    assert encode_symbols(out, _MODEL) == payload


# -- bad arguments -------------------------------------------------------------------------
def test_bad_arguments_name_the_argument():
    symbols = np.array([[0, 1], [2, 3]])
    with pytest.raises(ValueError, match=r"levels\[0\] must be >= 2"):
        CategoricalModel.fit(symbols, (1, 4))
    with pytest.raises(ValueError, match="levels must be >= 2"):
        empirical_entropy_bits(symbols, 1)
    with pytest.raises(ValueError, match=r"levels has 3 entries"):
        CategoricalModel.fit(symbols, (3, 4, 5))
    with pytest.raises(TypeError, match=r"levels\[1\]"):
        CategoricalModel.fit(symbols, (3, 4.0))
    with pytest.raises(ValueError, match=r"symbols of dimension 1 must be in \[0, 3\)"):
        CategoricalModel.fit(symbols, (3, 3))
    model = CategoricalModel.fit(symbols, (3, 4))
    with pytest.raises(ValueError, match=r"symbols of dimension 0 must be in \[0, 3\)"):
        encode_symbols([[-1, 0]], model)
    with pytest.raises(ValueError, match=r"symbols of dimension 1 must be in \[0, 4\)"):
        model.information_bits([[0, 4]])
    with pytest.raises(TypeError, match="symbols must be an integer array"):
        encode_symbols(np.array([[0.0, 1.0]]), model)
    with pytest.raises(TypeError, match="symbols must be an integer array"):
        CategoricalModel.fit(np.array([[True, False]]), 2)
    with pytest.raises(ValueError, match=r"symbols must have shape \(n, 2\)"):
        encode_symbols([[0, 1, 2]], model)
    with pytest.raises(ValueError, match="symbols must be a 2-D array"):
        encode_symbols([0, 1], model)
    for bad in (0, -0.5, float("nan")):
        with pytest.raises(ValueError, match="pseudocount"):
            CategoricalModel.fit(symbols, (3, 4), pseudocount=bad)
    with pytest.raises(ValueError, match="symbols must not be empty"):
        CategoricalModel.fit(np.zeros((0, 2), dtype=int), (3, 4))
    with pytest.raises(TypeError, match="model"):
        encode_symbols(symbols, "model")
    with pytest.raises(ValueError, match="n must be >= 0"):
        decode_symbols(b"", -1, model)
    with pytest.raises(TypeError, match="payload"):
        decode_symbols("text", 1, model)
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*64\)"):
        _header(seed=2**64)
    with pytest.raises(ValueError, match="seed"):
        _header(seed=-1)
    with pytest.raises(TypeError, match="seed"):
        _header(seed=1.5)
    with pytest.raises(ValueError, match="quantizer"):
        _header(quantizer="vq")
    with pytest.raises(ValueError, match="model_identity"):
        _header(model_identity=b"short")
    with pytest.raises(ValueError, match=r"levels\[2\]"):
        _header(levels=(3, 3, 1))
    with pytest.raises(ValueError, match=r"levels\[0\] must be in \[2, 65536\]"):
        _header(levels=(2**16 + 1,))
    with pytest.raises(ValueError, match="n_samples must be"):
        _header(n_samples=-1)
    with pytest.raises(ValueError, match=r"input_shape\[1\]"):
        _header(input_shape=(1, 0))
    with pytest.raises(TypeError, match="header"):
        pack_learned("header", b"")
    with pytest.raises(ValueError, match="model_identity"):
        read_learned_header(pack_learned(_header(), b""), model_identity=b"\x00" * 31)


def test_speed_of_a_realistic_batch():
    rng = np.random.default_rng(9)
    levels = (3,) * 10 + (8,) * 10
    model = CategoricalModel.fit(_draw(rng, levels, 2000), levels)
    symbols = _draw(rng, levels, 10_000)
    start = time.perf_counter()
    payload = encode_symbols(symbols, model)
    out = decode_symbols(payload, 10_000, model)
    elapsed = time.perf_counter() - start
    np.testing.assert_array_equal(out, symbols)
    assert elapsed < 2.0  # about 0.02 s unloaded; generous for a shared machine


def test_documented_example_stream():
    """The example of docs/bitstream.md, byte for byte (the layout is part of the format)."""
    quarter = np.array([0.5, 0.25, 0.25])
    model = CategoricalModel((quarter, quarter, np.full(8, 0.125)))
    header = LearnedHeader(model.identity(), "uq", model.levels, 2, 2024, (1, 28, 28))
    data = pack_learned(header, encode_symbols([[0, 1, 5], [2, 0, 7]], model))
    assert len(data) == 116
    assert data.hex() == (
        "8952444c0d0a1a0a0102000054000000040000000000000001020300020000000000000"
        "0e807000000000000"
        "4e4a49860a03243321d282e36d028ae36715f5ff0cbc4a794b5c6fff40902061"
        "010000001c0000001c000000020000000200000003000000010000000800000"
        "0c0feef72e4161297"
    )


def test_header_quantizer_codes_cover_the_quantizers():
    from rdlab.coding.learned import QUANTIZERS
    from rdlab.coding.quantizers import QUANTIZER_KINDS

    assert QUANTIZERS == ("dq", "nq", "uq", "ntc", "uq-private")  # wire format: never reorder
    assert set(QUANTIZERS) == {*QUANTIZER_KINDS, "ntc", "uq-private"}
    assert "uq-private" not in QUANTIZER_KINDS  # not a training quantiser of seed 001


# -- UQ without common randomness ("uq-private", code 4) -----------------------------------
def test_uq_private_header_round_trip_and_code():
    header = _header(quantizer="uq-private", seed=99)
    raw = header.to_bytes()
    assert raw[1] == 4
    assert LearnedHeader.from_bytes(raw) == header
    data = pack_learned(header, b"")
    assert read_learned_header(data)[0].quantizer == "uq-private"
    body = bytearray(data[:-4])
    body[24 + 1] = 5  # the first unknown code
    with pytest.raises(BitstreamError, match="quantizer code 5"):
        read_learned_header(reseal(bytes(body)))


_UQ_LEVELS = (4, 4)


def _identity_analysis(x, u):
    return np.clip(np.rint((x + u + 1) * 1.5), 0, 3).astype(np.int64)


def _identity_synthesis(s, u):
    return (s / 1.5 - 1 - u).astype(np.float32)


def _identity_codec(quantizer, **kw):
    """The identity transforms on [-1, 1]^2, 4 levels per dimension (the codec's example)."""
    model = CategoricalModel.fit([[0, 0], [1, 1], [2, 2], [3, 3]], _UQ_LEVELS)
    return QuantizedLatentCodec(
        _identity_analysis, _identity_synthesis, model, quantizer, (2,), bytes(32), **kw
    )


def test_uq_private_encoder_is_uq_and_decoder_draws_its_own_noise():
    n = 20_000
    x = np.random.default_rng(10).uniform(-1, 1, size=(n, 2)).astype(np.float32)
    uq, private = _identity_codec("uq"), _identity_codec("uq-private", decoder_seed=3)
    assert uq.decoder_seed == 0 and private.decoder_seed == 3
    # the same encoder: same symbols, same payload; only the quantizer byte differs
    np.testing.assert_array_equal(uq.symbols(x, seed=5), private.symbols(x, seed=5))
    data_uq, data_private = uq.encode(x, seed=5), private.encode(x, seed=5)
    h_uq, payload_uq = read_learned_header(data_uq)
    h_private, payload_private = read_learned_header(data_private)
    assert payload_uq == payload_private
    assert (h_uq.quantizer, h_private.quantizer) == ("uq", "uq-private")
    assert h_private.seed == 5
    # different decoders: uq subtracts u1, uq-private its own u2
    out_uq, out_private = uq.decode(data_uq), private.decode(data_private)
    assert out_private.shape == out_uq.shape == (n, 2)
    assert not np.allclose(out_uq, out_private)
    s = uq.symbols(x, seed=5)
    np.testing.assert_array_equal(out_uq, _identity_synthesis(s, dither(n, _UQ_LEVELS, 5)))
    np.testing.assert_array_equal(
        out_private, _identity_synthesis(s, private_dither(n, _UQ_LEVELS, 3))
    )
    np.testing.assert_array_equal(out_private, _identity_synthesis(s, private.decoder_noise(n, 5)))
    # subtractive dither: error uniform, step^2/12; private dither adds two independent
    # uniforms (u1 - u2), three times that
    step2 = level_step(4) ** 2
    mse_uq = float(np.mean((out_uq - x) ** 2))
    mse_private = float(np.mean((out_private - x) ** 2))
    assert np.abs(out_uq - x).max() <= level_step(4) / 2 + 1e-6
    assert mse_uq == pytest.approx(step2 / 12, rel=0.05)
    assert mse_private == pytest.approx(3 * step2 / 12, rel=0.05)


def test_decoder_noise_of_uq_and_uq_private():
    n = 50
    uq = _identity_codec("uq")
    private = _identity_codec("uq-private", decoder_seed=7)
    other = _identity_codec("uq-private", decoder_seed=8)
    # uq: the encoder's dither of the header's seed
    np.testing.assert_array_equal(uq.decoder_noise(n, 7), dither(n, _UQ_LEVELS, 7))
    np.testing.assert_array_equal(uq.decoder_noise(n, 7), uq.noise(n, 7))
    assert not np.array_equal(uq.decoder_noise(n, 7), uq.decoder_noise(n, 8))
    # uq-private: independent of the header's seed, a function of decoder_seed
    u = private.decoder_noise(n, 7)
    assert u.shape == (n, 2) and u.dtype == np.float32
    np.testing.assert_array_equal(u, private.decoder_noise(n, 2**64 - 1))
    np.testing.assert_array_equal(u, private_dither(n, _UQ_LEVELS, 7))
    assert not np.array_equal(u, other.decoder_noise(n, 7))
    # never the encoder's stream, even when decoder_seed equals the header's seed
    assert not np.any(u == dither(n, _UQ_LEVELS, 7))
    assert not np.any(u == private.noise(n, 7))
    # the other quantisers keep the header-seeded noise
    for quantizer in ("dq", "nq", "ntc"):
        codec = _identity_codec(quantizer, decoder_seed=7)
        np.testing.assert_array_equal(codec.decoder_noise(n, 9), dither(n, _UQ_LEVELS, 9))
    assert private.decoder_noise(0, 1).shape == (0, 2)


def test_private_dither_distribution_and_domain_separation():
    levels = (3, 5, 4, 256)
    n = 100_000
    u = private_dither(n, levels, 11)
    assert u.shape == (n, 4) and u.dtype == np.float32
    np.testing.assert_array_equal(u, private_dither(n, levels, 11))
    for j, size in enumerate(levels):
        half = level_step(size) / 2
        col = u[:, j].astype(np.float64)
        assert col.min() >= -half and col.max() < half
        assert abs(col.mean()) < 0.02 * half
        assert col.var() == pytest.approx(level_step(size) ** 2 / 12, rel=0.03)
    # its own stream: not dither's under the same seed, nor under the tag-free seeds
    for seed in (0, 1, 11, 2**64 - 1):
        assert not np.any(private_dither(64, levels, seed) == dither(64, levels, seed))
    assert not np.array_equal(private_dither(64, levels, 11), private_dither(64, levels, 12))
    expected = np.random.Generator(
        np.random.PCG64(np.random.SeedSequence([PRIVATE_DITHER_TAG, 11]))
    ).random((3, 4))
    half = np.array([level_step(v) / 2 for v in levels])
    np.testing.assert_array_equal(u[:3], (expected * (2 * half) - half).astype(np.float32))
    np.testing.assert_array_equal(private_dither(5, 4, 2, dim=2), private_dither(5, (4, 4), 2))
    with pytest.raises(ValueError, match="dim"):
        private_dither(5, 4, 2)
    with pytest.raises(ValueError, match="seed"):
        private_dither(5, levels, -1)
    with pytest.raises(ValueError, match="n must be"):
        private_dither(-1, levels, 0)


def test_uq_private_decoder_ignores_the_header_seed():
    x = np.random.default_rng(12).uniform(-1, 1, size=(40, 2)).astype(np.float32)
    seed_offset = 24 + 12  # container prefix + the header's seed field
    for quantizer, same in (("uq-private", True), ("uq", False)):
        codec = _identity_codec(quantizer, decoder_seed=4)
        data = codec.encode(x, seed=21)
        body = bytearray(data[:-4])
        assert struct.unpack_from("<Q", body, seed_offset) == (21,)
        struct.pack_into("<Q", body, seed_offset, 22)
        forged = reseal(bytes(body))
        assert read_learned_header(forged)[0].seed == 22
        if same:
            np.testing.assert_array_equal(codec.decode(forged), codec.decode(data))
        else:  # the shared dither moves with the seed: the rewrite shows
            assert not np.array_equal(codec.decode(forged), codec.decode(data))


def test_bad_decoder_seed_is_named():
    for bad, error in ((-1, ValueError), (2**64, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="decoder_seed"):
            _identity_codec("uq-private", decoder_seed=bad)
    with pytest.raises(ValueError, match="header_seed"):
        _identity_codec("uq-private").decoder_noise(3, -1)
