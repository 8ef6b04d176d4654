"""User-facing errors: one clear line and a non-zero exit, never a traceback.

Library code raises :class:`UserError` (or a subclass) for anything the user can fix: a missing
file, a wrong .bin size, an unknown attribute name. Entry scripts wrap their ``main`` with
:func:`run_cli`, which prints ``error: <message>`` on stderr and exits with status 2.

Output paths are checked before any work starts, so a bad ``--out`` fails in one line instead of
after an hour of work (or with a raw FileExistsError / NotADirectoryError / PermissionError):

    out_dir = check_output_dir(args.out, what="--out")          # made if missing
    pb_path = check_output_file(args.pb_path, what="--pb_path")  # its folder made if missing
"""

from __future__ import annotations

import os
import sys
from typing import Callable, NoReturn, Optional, Sequence


class UserError(Exception):
    """Bad input from the user; the message is one line saying what, where, and what was expected."""


def fail(message: str) -> NoReturn:
    raise UserError(message)


def require_file(path, what: str = "file") -> None:
    """Raise UserError unless ``path`` is an existing file."""
    if not os.path.isfile(path):
        raise UserError(f"{what} not found: {path}")


def _blocking_file(path: str):
    """The deepest existing ancestor of ``path`` (or ``path`` itself) when it is not a folder."""
    probe = os.path.abspath(path)
    while not os.path.lexists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            return None
        probe = parent
    return None if os.path.isdir(probe) else probe


def _not_writable(path: str, what: str, reason: str = "permission denied") -> UserError:
    return UserError(f"{what} {path} is not writable ({reason}): expected a folder you can write to")


def check_output_dir(path, what: str = "output folder") -> str:
    """Make sure ``path`` is (or can become) a writable folder, creating it; returns ``os.fspath(path)``.

    One-line :class:`UserError` naming ``what`` (the flag) and the path when ``path`` is an existing
    file, when one of its parents is a file, or when it cannot be created or written to.

        out = check_output_dir(args.output, what="--output")
    """
    path = os.fspath(path)
    if not path:
        raise UserError(f"{what} is empty: expected a folder path")
    if os.path.lexists(path) and not os.path.isdir(path):
        raise UserError(f"{what} {path} is an existing file: expected a folder (or a path that does "
                        f"not exist yet)")
    blocker = _blocking_file(path)
    if blocker is not None:
        raise UserError(f"{what} {path}: {blocker} is a file, not a folder")
    try:
        os.makedirs(path, exist_ok=True)
    except PermissionError:
        raise _not_writable(path, what) from None
    except OSError as exc:  # read-only file system, name too long, ...
        raise UserError(f"{what} {path} cannot be created ({exc.strerror or type(exc).__name__})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise _not_writable(path, what)
    return path


def check_output_file(path, what: str = "output file") -> str:
    """Make sure ``path`` can be written as a file, creating its folder; returns ``os.fspath(path)``.

    One-line :class:`UserError` naming ``what`` and the path when ``path`` is a folder, when a parent
    is a file, or when the folder or an existing file is not writable. Nothing is written to ``path``.

        pb = check_output_file(args.pb_path, what="--pb_path")
    """
    path = os.fspath(path)
    if not path or path.endswith(("/", os.sep)):
        raise UserError(f"{what} {path!r} is not a file name: expected a path such as out/model.pb")
    if os.path.isdir(path):
        raise UserError(f"{what} {path} is a folder: expected a file path inside it")
    blocker = _blocking_file(os.path.dirname(os.path.abspath(path)))
    if blocker is not None:
        raise UserError(f"{what} {path}: {blocker} is a file, not a folder")
    parent = os.path.dirname(path) or "."
    try:
        os.makedirs(parent, exist_ok=True)
    except PermissionError:
        raise UserError(f"{what} {path}: its folder {parent} cannot be created (permission denied)") from None
    except OSError as exc:
        raise UserError(f"{what} {path}: its folder {parent} cannot be created "
                        f"({exc.strerror or type(exc).__name__})") from None
    if os.path.lexists(path):
        if not os.path.isfile(path):
            raise UserError(f"{what} {path} exists and is not a regular file")
        if not os.access(path, os.W_OK):
            raise UserError(f"{what} {path} is not writable (permission denied): expected a file you "
                            f"can overwrite")
    elif not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{what} {path}: its folder {parent} is not writable (permission denied)")
    return path


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    import os

    text = str(message).strip().splitlines()[0] if str(message).strip() else category.__name__
    return f"warning: {text} ({os.path.basename(filename)}:{lineno})\n"


def run_cli(main: Callable[[Optional[Sequence[str]]], Optional[int]],
            argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Call ``main(argv)`` and exit: 0 (or its return value), 2 on UserError, 130 on Ctrl-C.

    Warnings are printed as one line (``warning: <message> (<file>:<line>)``), without the
    source line Python would add.
    """
    import warnings

    warnings.formatwarning = _one_line_warning
    try:
        code = main(argv)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as exc:   # a training driver's subclass says what it saved
        print(f"interrupted: {exc}" if str(exc) else "interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(int(code or 0))
