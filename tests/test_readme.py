"""The README's Python example and first CLI run work as written."""

import re
import shlex
import shutil
from pathlib import Path

from classicdeblur.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _in_copy(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "tests" / "data", tmp_path / "tests" / "data")
    monkeypatch.chdir(tmp_path)


def test_python_examples_run(tmp_path, monkeypatch):
    _in_copy(tmp_path, monkeypatch)
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert len(blocks) >= 2, "README has no Python examples"
    namespace = {}
    for block in blocks:  # later blocks continue the first one
        exec(compile(block, "README.md", "exec"), namespace)
    assert (tmp_path / "sharp.png").exists()
    assert namespace["res"].kernel.shape == (19, 19) and namespace["res"].info["history"]


def test_first_run_command(tmp_path, monkeypatch):
    _in_copy(tmp_path, monkeypatch)
    line = next(l for l in README.splitlines() if l.startswith(".venv/bin/classicdeblur run "))
    argv = shlex.split(line)[1:]
    assert main(argv + ["-q"]) == 0
    assert (tmp_path / "sharp.png").exists()


def test_blind_run_command(tmp_path, monkeypatch):
    _in_copy(tmp_path, monkeypatch)
    text = README.replace("\\\n", " ")
    line = next(l for l in text.splitlines() if l.startswith(".venv/bin/classicdeblur run ") and "--method" in l)
    assert main(shlex.split(line)[1:] + ["-q"]) == 0
    assert (tmp_path / "blind.png").exists() and (tmp_path / "kernel.png").exists()


def test_face_run_command(tmp_path, monkeypatch):
    _in_copy(tmp_path, monkeypatch)
    line = next(l for l in README.splitlines()
                if l.startswith(".venv/bin/classicdeblur run tests/data/") and "--method exemplar" in l)
    assert main(shlex.split(line)[1:] + ["-q"]) == 0
    assert (tmp_path / "face.png").exists()
