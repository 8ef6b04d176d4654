"""User-facing errors: one clear line and a non-zero exit, never a traceback.

Library code raises :class:`UserError` (or a subclass) for anything the user can fix: a missing
file, a wrong .bin size, an unknown attribute name. Entry scripts wrap their ``main`` with
:func:`run_cli`, which prints ``error: <message>`` on stderr and exits with status 2.
"""

from __future__ import annotations

import sys
from typing import Callable, NoReturn, Optional, Sequence


class UserError(Exception):
    """Bad input from the user; the message is one line saying what, where, and what was expected."""


def fail(message: str) -> NoReturn:
    raise UserError(message)


def require_file(path, what: str = "file") -> None:
    """Raise UserError unless ``path`` is an existing file."""
    import os

    if not os.path.isfile(path):
        raise UserError(f"{what} not found: {path}")


def run_cli(main: Callable[[Optional[Sequence[str]]], Optional[int]],
            argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Call ``main(argv)`` and exit: 0 (or its return value), 2 on UserError, 130 on Ctrl-C."""
    try:
        code = main(argv)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(int(code or 0))
