"""Access to the kernel banks in the repository's ``kernels/`` data folder.

The folder holds one ``<bank>.npz`` per bank and a ``MANIFEST.json`` that
gives, for every kernel, its name (``"levin:3"``), shape, source or recipe,
terms of use and the sha256 of its float64 C-contiguous bytes. Kernels are
checked against that hash every time they are loaded.

Set ``CLASSICDEBLUR_KERNELS`` to use another copy of the folder. Rebuild it
with ``python -m classicdeblur.psf.build_banks --data ../shared/data``.

Examples
--------
>>> list_kernels("lai")
['lai:1', 'lai:2', 'lai:3', 'lai:4']
>>> load_kernel("levin:1").shape
(19, 19)
>>> kernel_from_spec("motion:length=15,angle=30").shape
(17, 17)
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np

from .._paths import data_dir
from ..errors import ClassicDeblurError, InvalidKernelError

__all__ = [
    "KernelBankError",
    "kernels_dir",
    "manifest",
    "list_banks",
    "list_kernels",
    "load_kernel",
    "kernel_from_spec",
    "parse_spec",
    "kernel_sha256",
]

#: Environment variable overriding the location of the ``kernels/`` folder.
ENV_VAR = "CLASSICDEBLUR_KERNELS"


class KernelBankError(ClassicDeblurError):
    """The kernel folder is missing, its manifest is unreadable, or a kernel fails its sha256 check."""


def kernels_dir() -> Path:
    """The ``kernels/`` data folder: ``$CLASSICDEBLUR_KERNELS`` or ``<repo>/kernels``."""
    return data_dir(ENV_VAR, "kernels")


def kernel_sha256(kernel) -> str:
    """sha256 (hex) of a kernel's float64, C-contiguous bytes.

    Examples
    --------
    >>> kernel_sha256(np.ones((1, 1)))[:12]
    '6c3c396ed6b5'
    """
    return hashlib.sha256(np.ascontiguousarray(kernel, dtype=np.float64).tobytes()).hexdigest()


@functools.lru_cache(maxsize=8)
def _read_manifest(path: str, mtime_ns: int, size: int) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def manifest() -> dict:
    """The parsed ``MANIFEST.json`` (``{"banks": {...}, "kernels": [...]}``).

    Raises
    ------
    KernelBankError
        If the folder or its manifest is missing or unreadable.
    """
    path = kernels_dir() / "MANIFEST.json"
    try:
        st = path.stat()
        return _read_manifest(str(path), st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        raise KernelBankError(
            f"no kernel manifest at {path}; set {ENV_VAR} to the kernels/ folder or rebuild it with "
            "'python -m classicdeblur.psf.build_banks --data DATA'"
        ) from None
    except (OSError, ValueError) as exc:
        raise KernelBankError(f"cannot read the kernel manifest {path}: {exc}") from None


def _entries() -> dict:
    return {e["name"]: e for e in manifest()["kernels"]}


def list_banks() -> list[str]:
    """Names of the banks in the manifest (``levin``, ``lai``, ``shen``, ``chakrabarti``)."""
    return list(manifest()["banks"])


def _describe_banks() -> str:
    counts: dict[str, int] = {}
    for e in manifest()["kernels"]:
        counts[e["bank"]] = counts.get(e["bank"], 0) + 1
    return ", ".join(f"{b} ({b}:1..{b}:{n})" for b, n in counts.items())


def list_kernels(bank: str | None = None) -> list[str]:
    """Kernel names, in bank order (``["levin:1", ..., "lai:1", ...]``), optionally of one bank.

    Raises
    ------
    ValueError
        For an unknown bank (the message lists the valid ones).
    """
    names = [e["name"] for e in manifest()["kernels"]]
    if bank is None:
        return names
    if bank not in manifest()["banks"]:
        raise InvalidKernelError(f"unknown kernel bank {bank!r}; choose from: {', '.join(list_banks())}")
    return [n for n in names if n.split(":", 1)[0] == bank]


@functools.lru_cache(maxsize=16)
def _load_npz(path: str, mtime_ns: int, size: int) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_kernel(name: str) -> np.ndarray:
    """Load the bank kernel ``name`` (``"levin:3"``) as a float64 array, verifying its sha256.

    Raises
    ------
    ValueError
        A malformed name, an unknown bank or an index out of range (the
        message lists the valid names).
    KernelBankError
        Missing data or a sha256 mismatch (the data were changed or corrupted).

    Examples
    --------
    >>> k = load_kernel("lai:1")
    >>> k.shape, bool(np.isclose(k.sum(), 1))
    ((31, 31), True)
    >>> load_kernel("levin:9")
    Traceback (most recent call last):
    ...
    classicdeblur.errors.InvalidKernelError: no kernel 'levin:9': bank 'levin' has levin:1..levin:8
    """
    if not isinstance(name, str) or name.count(":") != 1:
        raise InvalidKernelError(f"kernel names look like 'levin:3'; got {name!r}. Banks: {_describe_banks()}")
    bank, idx = name.split(":")
    banks = manifest()["banks"]
    if bank not in banks:
        raise InvalidKernelError(f"unknown kernel bank {bank!r} in {name!r}; banks: {_describe_banks()}")
    entries = _entries()
    if name not in entries:
        n = sum(1 for e in manifest()["kernels"] if e["bank"] == bank)
        raise InvalidKernelError(f"no kernel {name!r}: bank {bank!r} has {bank}:1..{bank}:{n}")
    entry = entries[name]
    path = kernels_dir() / banks[bank]["file"]
    try:
        st = path.stat()
        arrays = _load_npz(str(path), st.st_mtime_ns, st.st_size)
        k = np.array(arrays[entry["key"]], dtype=np.float64, order="C")
    except FileNotFoundError:
        raise KernelBankError(f"kernel file {path} is missing; rebuild kernels/ with build_banks") from None
    except (KeyError, OSError, ValueError) as exc:
        raise KernelBankError(f"cannot read {name!r} from {path}: {exc}") from None
    if list(k.shape) != list(entry["shape"]) or kernel_sha256(k) != entry["sha256"]:
        raise KernelBankError(
            f"kernel {name!r} in {path} does not match its sha256 in MANIFEST.json; the file was changed "
            "or is corrupt (restore it or rebuild with build_banks)"
        )
    return k


def _parse_value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_spec(spec: str) -> tuple[str, dict]:
    """Split ``"motion:length=15,angle=30"`` into ``("motion", {"length": 15, "angle": 30})``.

    Examples
    --------
    >>> parse_spec("gaussian:sigma=2.5")
    ('gaussian', {'sigma': 2.5})
    >>> parse_spec("disk")
    ('disk', {})
    """
    name, _, rest = spec.strip().partition(":")
    params = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise InvalidKernelError(f"bad kernel spec {spec!r}: expected name:key=value,key=value")
        params[key.strip()] = _parse_value(value.strip())
    return name.strip(), params


def kernel_from_spec(spec: str, *, rng=None) -> np.ndarray:
    """Build a kernel from a bank name or a generator spec, for ``--kernel SPEC``.

    Parameters
    ----------
    spec : str
        A bank kernel (``"levin:3"``, ``"lai:2"``, ``"shen:10"``) or a generator
        with ``key=value`` parameters (``"motion:length=15,angle=30"``,
        ``"gaussian:sigma=2"``, ``"disk:radius=4"``,
        ``"boracchi_foi:size=21,seed=3"``, ``"chakrabarti:size=41,seed=0"``).
        ``seed`` becomes the generator's ``rng``; file paths are handled by the caller.
    rng : int, numpy.random.Generator or None
        Used by random generators when the spec gives no ``seed``.

    Raises
    ------
    ValueError
        Unknown bank, generator or parameter; the message lists the valid ones.
    InvalidKernelError
        A parameter that is not a finite number (``angle=abc``,
        ``sigma=inf``), or a kernel larger than
        :data:`~classicdeblur.psf.generators.MAX_KERNEL_SIZE`, refused before
        anything is allocated.

    Examples
    --------
    >>> kernel_from_spec("disk:radius=4").shape
    (9, 9)
    >>> kernel_from_spec("motion:length=15,angle=abc")
    Traceback (most recent call last):
    ...
    classicdeblur.errors.InvalidKernelError: kernel generator 'motion': angle must be a finite number; got 'abc'
    >>> a = kernel_from_spec("boracchi_foi:size=21,seed=3")
    >>> bool(np.array_equal(a, kernel_from_spec("boracchi_foi:size=21,seed=3")))
    True
    """
    from .generators import GENERATORS, make_kernel

    if not isinstance(spec, str):
        raise TypeError(f"kernel spec must be a str like 'levin:3'; got {type(spec).__name__}")
    name, _, rest = spec.strip().partition(":")
    if rest and "=" not in rest:  # bank:index
        if name in GENERATORS and not rest.strip().isdigit():
            raise InvalidKernelError(f"bad kernel spec {spec!r}: generator parameters are key=value, "
                                     f"e.g. '{name}:size=21,seed=3'")
        return load_kernel(spec.strip())
    if name not in GENERATORS:
        try:
            banks = _describe_banks()
        except KernelBankError:
            banks = "(kernel folder not found)"
        raise InvalidKernelError(
            f"unknown kernel {spec!r}; use a bank kernel ({banks}) or a generator spec "
            f"({', '.join(GENERATORS.names())}), e.g. 'motion:length=15,angle=30'"
        )
    _, params = parse_spec(spec)
    if "seed" in params:
        rng = params.pop("seed")
        if isinstance(rng, bool) or not isinstance(rng, int) or rng < 0:
            raise InvalidKernelError(f"bad kernel spec {spec!r}: seed must be a whole number >= 0; got {rng!r}")
    size = params.pop("size", None)
    return make_kernel(name, size, rng=rng, **params)
