"""Test configuration.

- Under CI (``CI`` set), hypothesis draws the same examples on every run.
- The allocator keeps freed memory (rdlab.core.runtime), as the rdlab command does.
- torch uses one thread per test process: ``make test`` runs two pytest workers on two cores,
  and two threads each would oversubscribe the cores (torch's busy-waiting threads then slow
  everything down several-fold).
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

try:
    import torch
except ImportError:  # pragma: no cover - torch is an optional extra
    torch = None
if torch is not None:
    torch.set_num_threads(1)

# as the rdlab command does for its process: keep freed memory instead of unmapping it after
# every training step (rdlab.core.runtime)
from rdlab.core.runtime import keep_freed_memory  # noqa: E402

keep_freed_memory()


import pytest  # noqa: E402


@pytest.fixture
def cli(capsys):
    """``cli(*argv) -> (exit code, stdout, stderr)`` of the rdlab command, in this process."""
    from rdlab.cli.main import main

    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run
