"""Helpers shared by the bitstream fuzz tests: reseal a stream's CRC, mutate it, bound the time;
and forged streams of every codec — header fields set to edge values, hostile output specs,
payloads of the wrong length — each with a valid CRC, as an attacker would write them.

Run as a script for the large campaign of docs/bitstream.md (a memory limit and a per-case time
limit; counts by outcome as JSON)::

    python tests/bitstream_fuzz.py --cases 200000 --json fuzz.json
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import struct
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from rdlab.coding.codec import decoder_for
from rdlab.coding.container import (
    PREFIX_BYTES,
    BitstreamError,
    pack_container,
    unpack_container,
)
from rdlab.coding.rcc import RCCCodec, output_from_spec, read_rcc_header
from toy_codecs import DATA, toy_codecs


def reseal(body: bytes) -> bytes:
    """Replace the CRC so that a deliberately edited stream passes the checksum."""
    return body + struct.pack("<I", zlib.crc32(body))


class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: float):
    def handler(signum, frame):
        raise Hang(f"decoding took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


mutations = st.one_of(
    st.tuples(
        st.just("flip"),
        st.lists(st.tuples(st.integers(0), st.integers(1, 255)), min_size=1, max_size=4),
    ),
    st.tuples(st.just("truncate"), st.integers(0)),
    st.tuples(st.just("append"), st.binary(min_size=1, max_size=8)),
    st.tuples(
        st.just("reseal"),
        st.lists(st.tuples(st.integers(0), st.integers(1, 255)), min_size=1, max_size=3),
    ),
)
"""Bit flips, truncations, appended bytes, and edits with a recomputed CRC."""


def mutate(data: bytes, mutation) -> tuple[bytes, bool]:
    """Apply a mutation; the flag says whether it must be rejected (resealed ones may decode)."""
    kind, arg = mutation
    if kind == "truncate":
        return data[: arg % len(data)], True
    if kind == "append":
        return data + arg, True
    buf = bytearray(data if kind == "flip" else data[:-4])
    for pos, mask in arg:
        buf[pos % len(buf)] ^= mask
    if kind == "flip":
        return bytes(buf), bytes(buf) != data  # two flips of one bit may cancel
    return reseal(bytes(buf)), False


# -- forged streams: hostile values under a valid CRC ----------------------------------------------

EDGES = {
    "B": [0, 1, 2, 3, 7, 8, 9, 16, 20, 21, 31, 32, 63, 64, 127, 128, 254, 255],
    "H": [0, 1, 2, 3, 4, 255, 256, 65535],
    "I": [0, 1, 2, 3, 255, 256, 65535, 65536, 2**20, 2**24, 2**24 + 1, 2**31 - 1, 2**31, 2**32 - 1],
    "Q": [
        0,
        1,
        2,
        255,
        2**16,
        2**20,
        2**24,
        2**31,
        2**32 - 1,
        2**32,
        2**40,
        2**40 + 1,
        2**53,
        2**63 - 1,
        2**63,
        2**64 - 1,
    ],
    "d": [
        0.0,
        -0.0,
        5e-324,
        -5e-324,
        1e-300,
        -1e-300,
        1.0,
        -1.0,
        -1e-9,
        999.0,
        1000.0,
        1001.0,
        1e300,
        -1e300,
        math.inf,
        -math.inf,
        math.nan,
    ],
}
"""Edge values of every field type (struct codes)."""

CONTAINER_FIELDS = [("version", 8, "B"), ("codec_id", 9, "H"), ("reserved", 11, "B"),
                    ("header_bytes", 12, "I"), ("payload_bytes", 16, "Q")]  # fmt: skip
"""(name, offset in the stream, struct code) of the container prefix."""


def _rcc_fields(header: bytes) -> list[tuple[str, int, str]]:
    ndim = header[40]
    fields = [("method", 0, "B"), ("index_coding", 1, "B"), ("log2_chunk", 2, "B"),
              ("distortion_code", 3, "B"), ("seed", 4, "Q"), ("n_candidates", 12, "I"),
              ("slope", 16, "d"), ("zipf_rate_bits", 24, "d"), ("n_samples", 32, "Q"),
              ("ndim", 40, "B")]  # fmt: skip
    fields += [(f"event_shape[{i}]", 41 + 4 * i, "I") for i in range(ndim)]
    fields.append(("spec_bytes", 41 + 4 * ndim + 32, "I"))
    return fields


def _learned_fields(header: bytes) -> list[tuple[str, int, str]]:
    ndim = header[2]
    fields = [("format", 0, "B"), ("quantizer", 1, "B"), ("ndim", 2, "B"), ("reserved", 3, "B"),
              ("n_samples", 4, "Q"), ("seed", 12, "Q")]  # fmt: skip
    fields += [(f"input_shape[{i}]", 52 + 4 * i, "I") for i in range(ndim)]
    pos = 52 + 4 * ndim
    (n_runs,) = struct.unpack_from("<I", header, pos)
    fields.append(("n_runs", pos, "I"))
    for j in range(n_runs):
        fields += [
            (f"run[{j}].count", pos + 4 + 8 * j, "I"),
            (f"run[{j}].levels", pos + 8 + 8 * j, "I"),
        ]
    return fields


def _pq_fields(header: bytes) -> list[tuple[str, int, str]]:
    return [("format", 0, "B"), ("codeword", 1, "B"), ("reserved", 2, "H"), ("n_samples", 4, "Q"),
            ("seed", 12, "Q"), ("dim", 20, "I"), ("n_subvectors", 24, "I")]  # fmt: skip


HEADER_FIELDS = {"rcc": _rcc_fields, "learned": _learned_fields, "pq": _pq_fields}


def _set(body: bytes, offset: int, code: str, value) -> bytes:
    buf = bytearray(body)
    struct.pack_into("<" + code, buf, offset, value)
    return bytes(buf)


def field_cases(kind: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    """Every container and header field of ``data`` set to every edge value, CRC recomputed."""
    frame = unpack_container(data)
    body = data[:-4]
    for name, offset, code in CONTAINER_FIELDS:
        for v in EDGES[code]:
            yield f"container.{name}={v}", reseal(_set(body, offset, code, v))
    for name, offset, code in HEADER_FIELDS[kind](frame.header):
        for v in EDGES[code]:
            yield f"header.{name}={v}", reseal(_set(body, PREFIX_BYTES + offset, code, v))


def payload_cases(data: bytes) -> Iterator[tuple[str, bytes]]:
    """The payload emptied, cut, extended or doubled (container lengths consistent)."""
    s = unpack_container(data)
    p = s.payload
    variants = {
        "empty": b"",
        "minus-word": p[:-4],
        "minus-byte": p[:-1],
        "plus-zero-word": p + bytes(4),
        "plus-ones-word": p + b"\xff" * 4,
        "plus-byte": p + b"\x00",
        "doubled": p + p,
        "reversed": p[::-1],
        "zeros": bytes(len(p)),
    }
    for name, payload in variants.items():
        yield f"payload.{name}", pack_container(s.codec_id, s.header, payload)


def _with_spec(data: bytes, spec: bytes) -> bytes:
    s = unpack_container(data)
    h = s.header
    ndim = h[40]
    pos = 41 + 4 * ndim + 32
    header = h[:pos] + struct.pack("<I", len(spec)) + spec
    return pack_container(s.codec_id, header, s.payload)


def spec_cases(data: bytes) -> Iterator[tuple[str, bytes]]:
    """Hostile output specs of an RCC stream: nesting, huge numbers and lists, wrong types."""
    header, _ = read_rcc_header(data)
    good = dict(header.output_spec)
    d = int(np.prod(header.event_shape)) if header.event_shape else 1
    specs = {
        "nested-100000": b"[" * 100000 + b"]" * 100000,
        "nested-object-9": b'{"kind":' * 9 + b'"gaussian"' + b"}" * 9,
        "nested-variances": json.dumps({**good, "variances": [[[[[[[[[1.0]]]]]]]]]}).encode(),
        "digits-5000": b'{"kind":"gaussian","scale":' + b"9" * 5000 + b"}",
        "nan": b'{"kind":"gaussian","water_level":NaN}',
        "infinity": b'{"kind":"gaussian-optimal","source":"gaussian:1","water_level":Infinity}',
        "not-object": b"[]",
        "null": b"null",
        "not-utf8": b'{"kind":"\xff\xfe"}',
        "empty": b"",
        "unknown-kind": b'{"kind":"jpeg"}',
        "kind-not-string": b'{"kind":7}',
        "no-keys": b'{"kind":"gaussian"}',
        "source-huge": json.dumps(
            {
                "kind": "gaussian-optimal",
                "source": "gaussian:" + ",".join(["1"] * 200000),
                "water_level": 0.5,
            }
        ).encode(),
        "source-bad": b'{"kind":"gaussian-optimal","source":"gaussian:-1,1e400","water_level":1}',
        "water-huge": json.dumps({**good, "water_level": 1e308}).encode(),
        "water-negative": json.dumps({**good, "water_level": -1.0}).encode(),
        "generator": b'{"kind":"generator","identity":"00","latent_shape":[1e9],"event_shape":[1]}',
        "oversized": b'{"kind":"gaussian","pad":"' + b"x" * (1 << 22) + b'"}',
    }
    for key in good:
        for bad in (None, -1, 1e308, "x", [], {}, [1.0] * (d + 1), True):
            specs[f"{key}={str(bad)[:12]}"] = json.dumps({**good, key: bad}).encode()
    for name, spec in specs.items():
        yield f"spec.{name}", _with_spec(data, spec)


def streams() -> dict[str, tuple[bytes, Callable[[bytes], object]]]:
    """The streams under attack and how each is decoded: every codec kind, RCC both from its
    header and with the model, every index coding."""
    codecs = toy_codecs()
    out: dict[str, tuple[bytes, Callable[[bytes], object]]] = {}
    for name in ("rcc_scalar_pfr_range.rdl", "rcc_gaussian20_orc_prefix.rdl"):
        data = (DATA / name).read_bytes()
        header, _ = read_rcc_header(data)
        model = RCCCodec(
            output_from_spec(header.output_spec), slope=header.slope,
            n_candidates=header.n_candidates, zipf_rate_bits=header.zipf_rate_bits,
            method=header.method, index_coding=header.index_coding, chunk_size=header.chunk_size,
        )  # fmt: skip
        out[f"rcc:{name}"] = (data, lambda b: decoder_for(b).decode(b))
        out[f"rcc-model:{name}"] = (data, lambda b, m=model: (m.decode(b), m.stream_rates(b)))
    learned, pq = codecs["learned"], codecs["pq"]
    data = (DATA / "learned_uq_example.rdl").read_bytes()
    out["learned"] = (data, lambda b: (decoder_for(b, learned).decode(b), learned.stream_rates(b)))
    data = (DATA / "pq_centroid.rdl").read_bytes()
    out["pq"] = (data, lambda b: (decoder_for(b, pq).decode(b), pq.stream_rates(b)))
    return out


def all_cases() -> Iterator[tuple[str, str, bytes, Callable[[bytes], object]]]:
    """``(stream, case, forged bytes, decode)`` of every deterministic forgery."""
    for sname, (data, decode) in streams().items():
        kind = sname.split(":")[0].split("-")[0]
        cases = [*field_cases(kind, data), *payload_cases(data)]
        if kind == "rcc":
            cases += list(spec_cases(data))
        for cname, forged in cases:
            yield sname, cname, forged, decode


def random_cases(n: int, seed: int) -> Iterator[tuple[str, str, bytes, Callable[[bytes], object]]]:
    """``n`` forgeries that set two to four random fields at once (edge or random values)."""
    rng = np.random.default_rng(seed)
    pool = list(streams().items())
    for i in range(n):
        sname, (data, decode) = pool[i % len(pool)]
        kind = sname.split(":")[0].split("-")[0]
        fields = [(f"container.{a}", b, c) for a, b, c in CONTAINER_FIELDS[3:]] + [
            (f"header.{a}", PREFIX_BYTES + b, c)
            for a, b, c in HEADER_FIELDS[kind](unpack_container(data).header)
        ]
        body = data[:-4]
        names = []
        for j in rng.choice(len(fields), size=int(rng.integers(2, 5)), replace=False):
            name, offset, code = fields[j]
            if rng.random() < 0.5:
                v = EDGES[code][int(rng.integers(len(EDGES[code])))]
            elif code == "d":
                v = float(rng.standard_normal() * 10.0 ** rng.integers(-5, 5))
            else:
                v = int(rng.integers(0, 256 ** struct.calcsize(code), dtype=np.uint64))
            body = _set(body, offset, code, v)
            names.append(f"{name}={v}")
        yield sname, ",".join(names), reseal(body), decode


def run_case(forged: bytes, decode: Callable[[bytes], object], limit_s: float) -> tuple[str, float]:
    """Decode ``forged`` under a time limit; returns (outcome, seconds): ``"decoded"``,
    ``"BitstreamError"``, or the name of any other exception (a failure)."""
    t0 = time.perf_counter()
    try:
        with time_limit(limit_s):
            decode(forged)
        outcome = "decoded"
    except BitstreamError:
        outcome = "BitstreamError"
    except BaseException as exc:
        outcome = type(exc).__name__
    return outcome, time.perf_counter() - t0


def campaign(n_random: int, seed: int, limit_s: float) -> dict:
    """Every deterministic forgery plus ``n_random`` random ones: counts by outcome, the
    slowest case, peak memory growth, and the failures (any outcome but the two allowed)."""
    import resource

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    counts: dict[str, int] = {}
    failures: list[str] = []
    slowest = (0.0, "")
    t0 = time.perf_counter()
    for sname, cname, forged, decode in (*all_cases(), *random_cases(n_random, seed)):
        outcome, seconds = run_case(forged, decode, limit_s)
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome not in ("decoded", "BitstreamError"):
            failures.append(f"{sname} {cname[:200]}: {outcome}")
        slowest = max(slowest, (seconds, f"{sname} {cname[:200]}"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "cases": sum(counts.values()),
        "outcomes": counts,
        "max_case_seconds": slowest[0],
        "slowest_case": slowest[1],
        "peak_rss_growth_mib": (peak - base) / 1024,
        "wall_seconds": time.perf_counter() - t0,
        "failures": failures,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=20000, help="random forgeries (default 20000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit-s", type=float, default=1.0, help="time limit per case")
    ap.add_argument("--memory-gib", type=float, default=1.0,
                    help="address space allowed beyond what the process holds at start")  # fmt: skip
    ap.add_argument("--json", type=Path, help="write the counts here")
    args = ap.parse_args(argv)
    import resource

    with open("/proc/self/statm") as fh:
        held = int(fh.read().split()[0]) * resource.getpagesize()
    limit = held + int(args.memory_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    report = {"memory_limit_gib": args.memory_gib, **campaign(args.cases, args.seed, args.limit_s)}
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
