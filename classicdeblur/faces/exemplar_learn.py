"""Learn the priors of an exemplar database with learners passed in by the caller.

A learner is a callable ``learn(db) -> dict[str, ndarray]`` that maps an
:class:`~classicdeblur.faces.exemplars.ExemplarDB` to the arrays saved as
``<name>.npz`` next to the database; ``learners`` maps each prior's name to its
learner. The face tools import no deblurring method: each blind method declares
its learner when it registers (``@BLIND.register(..., learn=...)``) and
:func:`classicdeblur.blind.prior_learners` collects them for the CLI.

Examples
--------
>>> import numpy as np
>>> def learn(db):
...     return {"mean": np.zeros(2)}
>>> _learner_label(learn)
'classicdeblur.faces.exemplar_learn:learn'
>>> _check_learners({"toy": "module:function"})
Traceback (most recent call last):
...
TypeError: the learner of prior 'toy' must be a callable learn(db) -> dict of arrays; got 'module:function'
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from ._exemplar_files import _file_entries, _write_json, _write_npz
from .exemplars import MANIFEST_FILE, ExemplarDB, ExemplarDBError, _load, load_database

__all__ = ["learn_priors"]


def _check_learners(learners) -> dict:
    """``learners`` as a new dict (``None`` -> ``{}``), or a TypeError naming a value that is not callable."""
    learners = dict(learners or {})
    for name, fn in learners.items():
        if not callable(fn):
            raise TypeError(
                f"the learner of prior {name!r} must be a callable learn(db) -> dict of arrays; got {fn!r}")
    return learners


def _learner_label(fn) -> str:
    """``"module:qualname"`` of a learner, as recorded in the manifest (``priors.<name>.learner``)."""
    module, name = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    return f"{module}:{name}" if module and name else repr(fn)


def _run_learners(db: ExemplarDB, folder: Path, learners: dict, log) -> dict:
    """Run each learner on ``db``; write ``<name>.npz`` into ``folder``. Returns the manifest's ``priors``."""
    done = {}
    for name, fn in learners.items():
        target = _learner_label(fn)
        t0 = time.perf_counter()
        try:
            arrays = fn(db)
        except Exception as exc:
            raise ExemplarDBError(
                f"learner {target} for prior {name!r} failed: {type(exc).__name__}: {exc}") from exc
        if not isinstance(arrays, dict) or not arrays:
            raise ExemplarDBError(
                f"learner {target} must return a non-empty dict of arrays; got {type(arrays)}")
        _write_npz(folder / f"{name}.npz", arrays)
        secs = time.perf_counter() - t0
        done[name] = {"learner": target, "seconds": round(secs, 2),
                      "arrays": {k: list(np.shape(v)) for k, v in arrays.items()}}
        log(f"prior {name!r}: {', '.join(arrays)} in {secs:.1f} s")
    return done


def learn_priors(path=None, names=None, *, learners=None, log=print) -> ExemplarDB:
    """(Re)run learners on an existing database and record their files in its manifest.

    Parameters
    ----------
    path : str or Path, optional
        Database folder (default :func:`~classicdeblur.faces.exemplars.exemplars_dir`).
    names : sequence of str, optional
        Priors to learn (keys of ``learners``); default all.
    learners : dict, optional
        Prior name -> ``learn(db) -> dict[str, ndarray]``; default none. The CLI passes
        :func:`classicdeblur.blind.prior_learners`.
    log : callable
        Receives notes (timings); ``print`` by default.

    Returns
    -------
    ExemplarDB
        The reloaded database.

    Raises
    ------
    ExemplarDBError
        An unknown name in ``names``, or a learner failed.
    TypeError
        A learner is not callable.
    """
    learners = _check_learners(learners)
    db = load_database(path)
    names = list(learners) if names is None else list(names)
    unknown = [n for n in names if n not in learners]
    if unknown:
        raise ExemplarDBError(f"unknown prior(s) {', '.join(unknown)}; choose from: {', '.join(learners)}")
    folder = db.path
    tmp = Path(tempfile.mkdtemp(prefix=".learn-", dir=folder))
    try:
        done = _run_learners(db, tmp, {n: learners[n] for n in names}, log)
        manifest = json.loads(json.dumps(db.manifest))
        for n in done:
            os.replace(tmp / f"{n}.npz", folder / f"{n}.npz")
        manifest.setdefault("priors", {}).update(done)
        still = manifest.get("priors_skipped", {})
        manifest["priors_skipped"] = {k: v for k, v in still.items() if k not in manifest["priors"]}
        manifest.setdefault("files", {}).update(_file_entries(folder, [f"{n}.npz" for n in done]))
        _write_json(folder / MANIFEST_FILE, manifest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _load.cache_clear()
    return load_database(folder)
