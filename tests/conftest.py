"""Test configuration.

- Under CI (``CI`` set), hypothesis draws the same examples on every run.
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
