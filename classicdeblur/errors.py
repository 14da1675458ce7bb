"""Exception types raised by classicdeblur.

Every error a user can cause by giving bad input derives from
:class:`ClassicDeblurError` (itself a :class:`ValueError`), so the CLI can turn
it into one line on stderr and exit code 2, and API users can catch one type.
"""

__all__ = [
    "ClassicDeblurError",
    "ImageReadError",
    "UnsupportedFormatError",
    "InvalidImageError",
    "ImageTooLargeError",
    "InvalidKernelError",
    "OutputExistsError",
    "DeviceUnavailableError",
    "InvalidParameterError",
    "ImageWriteError",
    "FacesUnavailableError",
    "NoFaceError",
]


class ClassicDeblurError(ValueError):
    """Base class of all input errors of classicdeblur."""


class ImageReadError(ClassicDeblurError):
    """A file is missing, empty, truncated or cannot be decoded as an image."""


class UnsupportedFormatError(ClassicDeblurError):
    """The file extension or pixel layout is not one classicdeblur reads or writes."""


class InvalidImageError(ClassicDeblurError):
    """An image array has a bad shape, dtype or non-finite values, or is smaller than the kernel."""


class ImageTooLargeError(InvalidImageError):
    """An image has more pixels than the configured limit."""


class InvalidKernelError(ClassicDeblurError):
    """A blur kernel is even-sized, negative, all zero, non-finite or too large."""


class OutputExistsError(ClassicDeblurError):
    """Writing would overwrite an input or an existing file without permission."""


class DeviceUnavailableError(ClassicDeblurError):
    """``device="gpu"`` was asked for but no working CUDA device / CuPy is present."""


class InvalidParameterError(ClassicDeblurError, TypeError):
    """A method was given a parameter it does not have."""


class ImageWriteError(ClassicDeblurError):
    """An output cannot be written (missing folder, permissions, disk full)."""


class FacesUnavailableError(ClassicDeblurError):
    """The face tools need dlib and the ``faces`` extra (``face-recognition-models``), which are missing."""


class NoFaceError(ClassicDeblurError):
    """No face was found in an image where one is required."""

    def __init__(self, message="no face found in the image; give its position with --face-box x,y,w,h "
                 "(face_box=(x, y, w, h) in Python)"):
        super().__init__(message)
