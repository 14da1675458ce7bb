"""Video frames in and out with OpenCV (any container its FFmpeg back end reads).

Frames are 8-bit BGR arrays as OpenCV decodes them. Written videos keep the input's
frame rate and size; they are re-encoded with a codec OpenCV's FFmpeg writes
everywhere: MPEG-4 Part 2 (``mp4v``) for ``.mp4``, ``.m4v``, ``.mov`` and ``.mkv``,
Motion JPEG (``MJPG``) for ``.avi``, VP8 for ``.webm``; other containers are written
as ``.mp4``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ClassicDeblurError, ImageReadError, ImageWriteError

__all__ = ["VideoReader", "VideoWriter", "output_suffix", "sharpness", "read_first_frame"]

_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG", ".webm": "VP80"}


def output_suffix(suffix: str) -> str:
    """The container a video with this suffix is written as (its own when OpenCV writes it)."""
    return suffix if suffix.lower() in _CODECS else ".mp4"


class VideoReader:
    """Frames of a video file, in order.

    Attributes
    ----------
    fps : float
    size : tuple of int
        ``(width, height)``.
    count : int
        The container's frame count (a hint: the frames actually read may differ).
    """

    def __init__(self, path):
        import cv2

        self.path = os.fspath(path)
        self._cap = cv2.VideoCapture(self.path)
        if not self._cap.isOpened():
            raise ImageReadError(f"cannot read '{self.path}': not an image, and OpenCV cannot open it as a video")
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS)) or 25.0
        self.size = (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.count = max(int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0)

    def __iter__(self):
        while True:
            ok, frame = self._cap.read()
            if not ok:
                return
            yield frame

    def close(self):
        self._cap.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def read_first_frame(path):
    """The first frame of a video (BGR uint8), or None."""
    try:
        with VideoReader(path) as r:
            return next(iter(r), None)
    except ClassicDeblurError:
        return None


def sharpness(frame) -> float:
    """Variance of the Laplacian of a frame's gray level: larger is sharper.

    Examples
    --------
    >>> import numpy as np
    >>> flat, edges = np.zeros((8, 8), np.uint8), np.tile(np.uint8([0, 255]), (8, 4))
    >>> sharpness(edges) > sharpness(flat)
    True
    """
    import cv2

    f = np.asarray(frame)
    gray = cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) if f.ndim == 3 else f
    return float(cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F).var())


class VideoWriter:
    """Write BGR uint8 frames to a video file with the given frame rate and size."""

    def __init__(self, path, fps, size):
        import cv2

        self.path = Path(path)
        codec = _CODECS.get(self.path.suffix.lower(), "mp4v")
        self._w = cv2.VideoWriter(os.fspath(self.path), cv2.VideoWriter_fourcc(*codec), float(fps),
                                  tuple(int(s) for s in size), True)
        if not self._w.isOpened():
            raise ImageWriteError(f"OpenCV cannot write a '{self.path.suffix}' video with codec {codec}")
        if codec == "MJPG":
            self._w.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
        self.frames = 0

    def write(self, frame):
        self._w.write(frame)
        self.frames += 1

    def close(self):
        self._w.release()
