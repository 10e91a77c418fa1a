"""rdlab.core.runtime: the allocator settings of the rdlab command."""

import sys

from rdlab.core.runtime import keep_freed_memory


def test_keep_freed_memory_applies_on_linux_and_is_idempotent():
    first = keep_freed_memory()
    assert first is keep_freed_memory()
    assert first == sys.platform.startswith("linux")
