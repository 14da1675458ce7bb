"""Safe output: refuse inputs, folders and existing files, and write atomically.

A payload is written to a temporary file in the destination directory, synced
and moved into place, so a failure never leaves a partial output.
"""

from __future__ import annotations

import os
import secrets

from ..errors import ImageWriteError, OutputExistsError

__all__ = ["check_output_path"]


def _same_file(a, b):
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def check_output_path(path, *, overwrite=False, protect=()):
    """Raise unless ``path`` may be written: not an input, not a folder, absent or ``overwrite``.

    Raises
    ------
    OutputExistsError
        ``path`` is one of ``protect``, a directory, or exists while ``overwrite`` is False.
    ImageWriteError
        The parent directory does not exist.
    """
    for q in protect or ():
        q = os.fspath(q)
        if _same_file(path, q):
            raise OutputExistsError(
                f"refusing to write '{path}': it is the input '{q}'; choose a different output path (-o)"
            )
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ImageWriteError(f"cannot write '{path}': the directory '{parent}' does not exist")
    if os.path.isdir(path):
        raise OutputExistsError(f"cannot write '{path}': it is a directory")
    if os.path.lexists(path) and not overwrite:
        raise OutputExistsError(
            f"'{path}' already exists; pass overwrite=True (--overwrite) or choose a different output path"
        )


def _atomic_write(path, payload, *, overwrite):
    """Write ``payload`` (bytes) to ``path`` via a temporary file in the same directory."""
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    for _ in range(100):
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # honours the umask
            break
        except FileExistsError:
            continue
        except OSError as e:
            raise ImageWriteError(f"cannot write '{path}': {e.strerror or e}") from e
    else:  # pragma: no cover
        raise ImageWriteError(f"cannot write '{path}': no free temporary name in '{directory}'")
    try:
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            if overwrite:
                os.replace(tmp, path)
            else:
                try:  # race-free "create only if absent"
                    os.link(tmp, path)
                except FileExistsError as e:
                    raise OutputExistsError(f"'{path}' already exists; pass overwrite=True") from e
                except OSError:  # file system without hard links
                    if os.path.lexists(path):
                        raise OutputExistsError(f"'{path}' already exists; pass overwrite=True") from None
                    os.replace(tmp, path)
        except OSError as e:
            raise ImageWriteError(f"cannot write '{path}': {e.strerror or e}") from e
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
