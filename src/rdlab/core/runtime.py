"""Process settings that make training loops faster, applied by the ``rdlab`` command.

:func:`keep_freed_memory` stops glibc's allocator from handing large blocks back to the
operating system after every free. A training step allocates and frees tensors of tens of MB
(a batch of generator samples and its activations); by default glibc serves each from a fresh
``mmap`` and unmaps it on free, so every step pays page faults on memory it just gave back.
Measured on NERD's quick preset on 10 000 MNIST images (2 cores, nothing else running): 150
training steps took 62.8 s with 60 s of system time, and 28.9 s with 2 s after this call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
TRIM_THRESHOLD_BYTES = 1 << 30
"""Free memory at the top of the heap kept by the process before it is returned (1 GiB)."""

_applied = False


def keep_freed_memory() -> bool:
    """Serve large allocations from the heap and keep up to 1 GiB of freed memory (glibc on
    Linux; elsewhere nothing happens). Returns whether the settings were applied.

    It changes the allocator of the whole process, so the ``rdlab`` command calls it for its
    own process; a library user may call it too.
    """
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    _applied = ok
    return ok


__all__ = ["TRIM_THRESHOLD_BYTES", "keep_freed_memory"]
