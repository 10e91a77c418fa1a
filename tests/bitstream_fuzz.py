"""Helpers shared by the bitstream fuzz tests: reseal a stream's CRC, mutate it, bound the time."""

from __future__ import annotations

import signal
import struct
import zlib
from contextlib import contextmanager

from hypothesis import strategies as st


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
