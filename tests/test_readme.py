"""The README's Python examples and every CLI command work as written (commands on the user's own files are skipped)."""

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
    exec(compile(blocks[0], "README.md", "exec"), {})  # a second run in a row works too (it writes sharp.png)


def _commands():
    """Every ``classicdeblur`` command of the README's bash blocks, continuation lines joined."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith(".venv/bin/classicdeblur "):
                commands.append(shlex.split(line, comments=True)[1:])
    return commands


def test_every_command_runs(tmp_path, monkeypatch, capsys):
    """Each README command, in order, as a user would type it.

    Skipped: commands on the user's own files ("your photo") or on the shared data
    folder (``--data``: the edge network's training, 26 minutes), and the face run,
    which ``test_face_run_command`` runs (about 5 s).
    """
    _in_copy(tmp_path, monkeypatch)
    commands = _commands()
    assert len(commands) >= 9
    ran = []
    for argv in commands:
        if any(a.startswith("your") for a in argv) or "exemplar" in argv or "--data" in argv:
            continue
        code = main(argv)
        assert code == 0, (argv, capsys.readouterr().err)
        ran.append(argv[0])
    assert ran[:5] == ["run", "run", "methods", "blur", "eval"]  # the first-run block
    for name in ("sharp.png", "blind.png", "kernel.png", "blurred.png"):
        assert (tmp_path / name).exists()


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
