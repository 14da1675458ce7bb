"""Expand the inputs of a batch (files, folders, globs) into images and videos with mirrored names.

Each input gets a relative name, ``rel``, under which its output is written in the
output folder: a file given by itself keeps its name; a file found in a folder keeps
its path under that folder; a file matched by a glob keeps its path under the glob's
fixed leading folders (``photos/*/a.png`` mirrors ``photos/``).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import ClassicDeblurError

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "Item", "expand_inputs"]

#: File name endings read as images (the formats of :func:`classicdeblur.read_image`).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".pgm", ".ppm", ".pnm", ".pbm",
                            ".bmp"})
#: File name endings read as videos with OpenCV (an explicitly named file of another
#: container is tried as a video too).
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv",
                            ".ogv", ".3gp", ".ts", ".mts"})


@dataclass(frozen=True)
class Item:
    """One input file: its ``path``, its output name ``rel`` and its ``kind`` (``"image"`` or ``"video"``)."""

    path: Path
    rel: PurePosixPath
    kind: str


def _kind(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return None


def _inside(path: Path, folders) -> bool:
    return any(path == f or f in path.parents for f in folders)


def _walk(root: Path, recursive: bool, exclude):
    """Image and video files under ``root`` in sorted order, skipping hidden names and ``exclude``."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and not _inside((here / d).resolve(), exclude)) if recursive else []
        for name in sorted(filenames):
            p = here / name
            if not name.startswith(".") and _kind(p) is not None:
                found.append(p)
    return found


def _glob_base(pattern: str) -> Path:
    """The leading folders of a glob pattern that hold no wildcard."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def expand_inputs(specs, *, recursive=False, exclude=()):
    """Turn files, folders and glob patterns into a list of :class:`Item`.

    Parameters
    ----------
    specs : iterable of str or os.PathLike
        Files (any extension: an unknown one is tried as a video), folders (their
        images and videos; sub-folders with ``recursive``) and glob patterns
        (``**`` matches sub-folders with ``recursive``).
    recursive : bool
        Descend into sub-folders of folders, and let ``**`` match across folders.
    exclude : iterable of path
        Folders never searched (the output folder).

    Returns
    -------
    list of Item
        In the order given, folders and globs sorted; each file once.

    Raises
    ------
    ClassicDeblurError
        A path that does not exist, a pattern or folder that matches nothing, or two
        inputs that would be written to the same output name.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> for name in ("a.png", "b.jpg", "notes.txt"):
    ...     open(os.path.join(d, name), "wb").close()
    >>> [str(i.rel) for i in expand_inputs([d])]
    ['a.png', 'b.jpg']
    """
    exclude = [Path(e).resolve() for e in exclude]
    items, seen, names = [], set(), {}

    def add(path: Path, rel: PurePosixPath, kind: str, spec):
        key = path.resolve()
        if key in seen:
            return
        if rel in names:
            raise ClassicDeblurError(
                f"'{path}' and '{names[rel]}' would both be written as '{rel}'; give them in separate batches "
                "or as folders"
            )
        seen.add(key)
        names[rel] = path
        items.append(Item(path, rel, kind))

    for spec in specs:
        text = os.fspath(spec)
        path = Path(text)
        if path.is_dir():
            found = _walk(path, recursive, exclude)
            if not found:
                raise ClassicDeblurError(
                    f"'{text}' holds no images or videos" + ("" if recursive else " (use --recursive for sub-folders)")
                )
            for p in found:
                add(p, PurePosixPath(p.relative_to(path).as_posix()), _kind(p), text)
        elif path.is_file():
            add(path, PurePosixPath(path.name), _kind(path) or "video", text)
        elif glob.has_magic(text):
            base = _glob_base(text)
            hits = sorted(Path(h) for h in glob.glob(text, recursive=recursive))
            hits = [h for h in hits if h.is_file() and _kind(h) is not None
                    and not _inside(h.resolve(), exclude)]
            if not hits:
                raise ClassicDeblurError(f"no images or videos match '{text}'")
            for p in hits:
                try:
                    rel = p.relative_to(base)
                except ValueError:
                    rel = Path(p.name)
                add(p, PurePosixPath(rel.as_posix()), _kind(p), text)
        elif path.exists():
            raise ClassicDeblurError(f"'{text}' is neither a file nor a folder")
        else:
            raise ClassicDeblurError(f"'{text}' does not exist")
    if not items:
        raise ClassicDeblurError("no inputs given")
    return items
