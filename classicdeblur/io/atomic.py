"""Safe output: refuse inputs, folders and existing files, and write atomically.

A payload is written to a temporary file in the destination directory, synced
and moved into place, so a failure never leaves a partial output. Inside
:func:`output_group`, several outputs (an image and its kernel) are staged and
moved into place together when the block ends, or not at all.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import secrets

from ..errors import ImageWriteError, OutputExistsError, UnsupportedFormatError
from .formats import IMAGE_EXTENSIONS, KERNEL_WRITE_EXTENSIONS, _ext, _format_for_writing

__all__ = ["check_output_path", "output_group"]

#: Outputs staged by the innermost :func:`output_group`: ``[(tmp, path, overwrite)]``.
_GROUP = contextvars.ContextVar("classicdeblur_output_group", default=None)


def _same_file(a, b):
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def check_output_path(path, *, overwrite=False, protect=(), kind=None):
    """Raise unless ``path`` may be written: not an input, not a folder, absent or ``overwrite``.

    Parameters
    ----------
    path : str or os.PathLike
    overwrite : bool
        Allow replacing an existing file.
    protect : iterable of path
        Paths never written (the inputs, or the other outputs of one run).
    kind : {None, "image", "kernel"}
        Also check that the extension is one :func:`write_image` or
        :func:`write_kernel` writes, so a run can refuse a bad output name
        before it computes anything.

    Raises
    ------
    OutputExistsError
        ``path`` is one of ``protect``, a directory, or exists while ``overwrite`` is False.
    UnsupportedFormatError
        ``kind`` is given and the extension is not one of its formats.
    ImageWriteError
        The parent directory does not exist or is not writable.

    Examples
    --------
    >>> check_output_path("out.webp", kind="image")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    classicdeblur.errors.UnsupportedFormatError: cannot write 'out.webp': unsupported extension '.webp'; use one of ...
    """
    path = os.fspath(path)
    if kind is not None:
        if kind not in ("image", "kernel"):
            raise ValueError(f"unknown output kind {kind!r}; choose from: image, kernel")
        _format_for_writing(path, IMAGE_EXTENSIONS if kind == "image" else KERNEL_WRITE_EXTENSIONS)
        if kind == "image" and _ext(path) == ".pbm":
            raise UnsupportedFormatError(f"cannot write '{path}': PBM is 1-bit; use .pgm or .png")
    for q in protect or ():
        q = os.fspath(q)
        if _same_file(path, q):
            raise OutputExistsError(
                f"refusing to write '{path}': it is the input '{q}'; choose a different output path (-o)"
            )
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ImageWriteError(f"cannot write '{path}': the directory '{parent}' does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ImageWriteError(f"cannot write '{path}': the directory '{parent}' is not writable")
    if os.path.isdir(path):
        raise OutputExistsError(f"cannot write '{path}': it is a directory")
    if os.path.lexists(path) and not overwrite:
        raise OutputExistsError(
            f"'{path}' already exists; pass overwrite=True (--overwrite) or choose a different output path"
        )


def _atomic_write(path, payload, *, overwrite):
    """Write ``payload`` (bytes) to ``path`` via a temporary file in the same directory.

    Inside :func:`output_group` the file is only staged; the group moves it into place.
    """
    group = _GROUP.get()
    if group is None:
        _commit(_stage(path, payload), path, overwrite=overwrite)
        return
    if any(_same_file(path, p) for _, p, _ in group):
        raise OutputExistsError(f"'{path}' is given as two outputs; give each output its own path")
    group.append((_stage(path, payload), path, overwrite))


@contextlib.contextmanager
def output_group():
    """Write every output of the block together, or none of them.

    :func:`write_image` and :func:`write_kernel` calls inside the block write
    temporary files only. When the block ends without an error, the files are
    moved into place one after another; if one of these moves fails, the ones
    already made are undone (a replaced file gets its old content back). When
    the block raises, the temporary files are removed and nothing is written.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from classicdeblur.io import write_image, write_kernel
    >>> d = tempfile.mkdtemp()
    >>> with output_group():
    ...     write_image(os.path.join(d, "x.png"), np.zeros((3, 3)))
    ...     write_kernel(os.path.join(d, "k.bad"), np.ones((3, 3)) / 9)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    classicdeblur.errors.UnsupportedFormatError: cannot write '...k.bad': unsupported extension '.bad'; ...
    >>> os.listdir(d)
    []
    """
    staged = []
    token = _GROUP.set(staged)
    try:
        yield
    except BaseException:
        _GROUP.reset(token)
        for tmp, _, _ in staged:
            _unlink_quietly(tmp)
        raise
    _GROUP.reset(token)
    done = []  # (path, backup or None, created)
    try:
        for i, (tmp, path, overwrite) in enumerate(staged):
            backup = None
            if overwrite and os.path.lexists(path):
                backup = _stage_link(path)
            try:
                _commit(tmp, path, overwrite=overwrite)
            except BaseException:
                if backup is not None:
                    _unlink_quietly(backup)
                raise
            done.append((path, backup))
    except BaseException:
        for path, backup in reversed(done):  # undo the moves already made
            if backup is not None:
                os.replace(backup, path)
            else:
                _unlink_quietly(path)
        for tmp, _, _ in staged:
            _unlink_quietly(tmp)
        raise
    for _, backup in done:
        if backup is not None:
            _unlink_quietly(backup)


def _unlink_quietly(path):
    try:
        if os.path.lexists(path):
            os.unlink(path)
    except OSError:
        pass


def _temp_name(path):
    directory = os.path.dirname(os.path.abspath(path))
    return os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")


def _stage_link(path):
    """A hard link to the current ``path`` (to restore it), or a copy where links are not supported."""
    backup = _temp_name(path)
    try:
        os.link(path, backup)
    except OSError:
        import shutil

        try:
            shutil.copy2(path, backup)
        except OSError as e:
            raise ImageWriteError(f"cannot write '{path}': {e.strerror or e}") from e
    return backup


def _stage(path, payload):
    """Write ``payload`` to a new synced temporary file next to ``path``; returns its name."""
    directory = os.path.dirname(os.path.abspath(path))
    for _ in range(100):
        tmp = _temp_name(path)
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
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException as e:
        _unlink_quietly(tmp)
        if isinstance(e, OSError):
            raise ImageWriteError(f"cannot write '{path}': {e.strerror or e}") from e
        raise
    return tmp


def _commit(tmp, path, *, overwrite):
    """Move the staged ``tmp`` to ``path`` (create-only unless ``overwrite``); ``tmp`` is gone afterwards."""
    try:
        try:
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
