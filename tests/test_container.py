"""The bitstream container, and a fuzz of corrupted reverse-channel-coding streams."""

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitstream_fuzz import mutate, mutations, reseal, time_limit
from rdlab.coding.container import (
    CODEC_IDS,
    FORMAT_VERSION,
    MAGIC,
    OVERHEAD_BYTES,
    BitstreamError,
    pack_container,
    unpack_container,
)
from rdlab.coding.rcc import gaussian_operating_point, rcc_decode, rcc_encode


def test_round_trip_and_layout():
    data = pack_container(1, b"head", b"payload!")
    assert data[:8] == MAGIC
    assert data[8] == FORMAT_VERSION
    assert struct.unpack_from("<H", data, 9)[0] == 1
    assert len(data) == OVERHEAD_BYTES + 4 + 8
    frame = unpack_container(data, codec_id=1)
    assert (frame.header, frame.payload, frame.codec_name) == (b"head", b"payload!", "rcc")
    assert unpack_container(pack_container(2, b"", b"")).payload == b""


def test_codec_ids_are_fixed():
    # ids are part of the file format: changing one breaks every stored file
    assert CODEC_IDS[1] == "rcc"
    assert CODEC_IDS[2] == "learned"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (MAGIC[:5], "truncated"),
        (b"PK\x03\x04 a zip file, not ours", "magic"),
        (b"\x93NUMPY\x01\x00", "magic"),
        (MAGIC + b"\x01\x01\x00", "truncated"),
    ],
)
def test_empty_foreign_and_short_inputs(data, message):
    with pytest.raises(BitstreamError, match=message):
        unpack_container(data)


def test_every_single_byte_corruption_and_truncation_is_detected():
    data = pack_container(1, b"some header bytes", bytes(range(40)))
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x5A
        with pytest.raises(BitstreamError):
            unpack_container(bytes(bad))
    for n in range(len(data)):
        with pytest.raises(BitstreamError):
            unpack_container(data[:n])
    with pytest.raises(BitstreamError):
        unpack_container(data + b"\x00")


def test_fields_checked_after_the_checksum():
    good = pack_container(1, b"h", b"p")[:-4]
    bad_version = bytearray(good)
    bad_version[8] = 99
    with pytest.raises(BitstreamError, match="version 99"):
        unpack_container(reseal(bytes(bad_version)))
    bad_codec = bytearray(good)
    bad_codec[9:11] = struct.pack("<H", 777)
    with pytest.raises(BitstreamError, match="unknown codec id 777"):
        unpack_container(reseal(bytes(bad_codec)))
    bad_reserved = bytearray(good)
    bad_reserved[11] = 1
    with pytest.raises(BitstreamError, match="reserved"):
        unpack_container(reseal(bytes(bad_reserved)))
    bad_len = bytearray(good)
    bad_len[12:16] = struct.pack("<I", 5)
    with pytest.raises(BitstreamError, match="inconsistent lengths"):
        unpack_container(reseal(bytes(bad_len)))
    with pytest.raises(BitstreamError, match="expected 'rcc'"):
        unpack_container(pack_container(2, b"", b""), codec_id=1)


def test_pack_rejects_bad_arguments():
    with pytest.raises(ValueError, match="codec_id"):
        pack_container(9999, b"", b"")
    with pytest.raises(TypeError, match="codec_id"):
        pack_container("rcc", b"", b"")
    with pytest.raises(TypeError, match="payload"):
        pack_container(1, b"", "text")
    with pytest.raises(TypeError, match="data"):
        unpack_container("text")


# -- fuzz: corrupted and truncated RCC streams ---------------------------------------------
_OP = gaussian_operating_point("gaussian:1", distortion=0.25)
_X = np.linspace(-2.0, 2.0, 6)
_STREAMS = [
    rcc_encode(
        _X,
        _OP.output,
        slope=_OP.slope,
        n_candidates=64,
        seed=99,
        zipf_rate_bits=_OP.rate_bits,
        method=method,
        index_coding=coding,
    ).bitstream
    for method, coding in (("pfr", "range"), ("orc", "prefix"))
]


@settings(
    max_examples=2000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(which=st.integers(0, 1), mutation=mutations)
def test_fuzz_corrupted_streams_raise_only_bitstream_error(which, mutation):
    data, must_fail = mutate(_STREAMS[which], mutation)
    with time_limit(5.0):
        try:
            dec = rcc_decode(data)
        except BitstreamError:
            return
    assert not must_fail, "a corrupted stream decoded without an error"
    assert np.all(np.isfinite(dec.reconstruction))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(data=st.binary(max_size=200))
def test_fuzz_random_bytes_raise_only_bitstream_error(data):
    with time_limit(5.0):
        with pytest.raises(BitstreamError):
            rcc_decode(data)


def test_resealed_header_fields_are_validated():
    """Fields of a stream whose CRC was recomputed after editing are checked one by one."""
    from rdlab.coding.rcc import read_rcc_header

    data = _STREAMS[0]
    header, _ = read_rcc_header(data)
    raw = header.to_bytes()
    start = 24  # the codec header follows the container prefix
    # offsets inside the RCC header: method 0, coding 1, log2 chunk 2, measure 3, seed 4,
    # N 12, slope 16, Zipf rate 24, n 32, ndim 40
    edits = {
        "method code": (0, b"\x07"),
        "index coding code": (1, b"\x07"),
        "chunk size": (2, b"\x30"),
        "distortion measure": (3, b"\x05"),
        "n_candidates 0": (12, struct.pack("<I", 0)),
        "slope": (16, struct.pack("<d", 0.5)),
        "zipf rate": (24, struct.pack("<d", 1e300)),
        "samples": (32, struct.pack("<Q", 0)),
        "event dimensions": (40, b"\x09"),
    }
    for message, (offset, value) in edits.items():
        body = bytearray(data[:-4])
        body[start + offset : start + offset + len(value)] = value
        with pytest.raises(BitstreamError, match=message):
            rcc_decode(reseal(bytes(body)))
    assert len(raw) == struct.unpack_from("<I", data, 12)[0]
    # more samples than the payload can hold: rejected before anything is allocated
    body = bytearray(data[:-4])
    body[start + 32 : start + 40] = struct.pack("<Q", 10**9)
    with pytest.raises(BitstreamError, match="holds at most"):
        rcc_decode(reseal(bytes(body)))
