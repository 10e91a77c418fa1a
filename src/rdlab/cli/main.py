"""The ``rdlab`` command.

Subcommands live in modules listed in :data:`COMMAND_MODULES`; each module defines
``register(subparsers)`` which adds its parser and sets ``func`` (``func(args) -> int``).
Bad input (``ValueError``, ``TypeError``, ``OverflowError``, any ``OSError`` such as a missing
file, an existing output or an output path under a regular file) and allocation failures become
a one-line message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

COMMAND_MODULES: tuple[str, ...] = (
    "rdlab.cli.rd",
    "rdlab.cli.sample",
    "rdlab.cli.reproduce",
    "rdlab.cli.retrieval",
    "rdlab.cli.rdp",
    "rdlab.cli.ecot",
    "rdlab.cli.codec",
    "rdlab.cli.rcc",
    "rdlab.cli.nerd",
    "rdlab.cli.lc",
    "rdlab.cli.ntc",
    "rdlab.cli.shift",
    "rdlab.cli.audit",
    "rdlab.cli.report",
    "rdlab.cli.demo",
)

USER_ERRORS = (ValueError, TypeError, OverflowError, OSError)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors exit with code 2 and one line."""

    def error(self, message: str):  # pragma: no cover - argparse calls exit itself
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rdlab",
        description="Limits and codes of lossy compression. Rates are in bits.",
    )
    from rdlab import __version__

    parser.add_argument("--version", action="version", version=f"rdlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (``sys.argv[1:]`` when None); return the exit code."""
    from rdlab.core.runtime import keep_freed_memory

    keep_freed_memory()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        raise  # the reader went away: entry_point stops quietly
    except USER_ERRORS as exc:
        return _fail(str(exc))
    except MemoryError as exc:
        return _fail(f"out of memory: {exc}")
    except RuntimeError as exc:
        # torch reports a failed allocation as a RuntimeError (OutOfMemoryError on a GPU)
        if type(exc).__name__ == "OutOfMemoryError" or "can't allocate memory" in str(exc):
            return _fail(f"out of memory: {exc}")
        raise


def _fail(message: str) -> int:
    """Print ``message`` as one line on stderr; return exit code 2."""
    line = " ".join(message.split())
    print(f"rdlab: error: {line}", file=sys.stderr)
    return 2


def entry_point() -> None:  # pragma: no cover - console-script shim
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader went away (``rdlab ... | head``): stop quietly, like other Unix tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    sys.exit(code)
