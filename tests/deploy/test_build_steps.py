"""The Dockerfile's builder stage, run here without Docker: lock, wheel, a working command.

Each COPY and RUN of the builder runs as written, with absolute paths moved under a
temporary root (``/opt/harmony-sweeper`` becomes ``<tmp>/root/opt/harmony-sweeper``) and
``python`` meaning this interpreter, whose minor version the base image pins. The build
context is what .dockerignore admits. It needs the package index (about a minute).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.manifests import REPO, Instruction, Stage, dockerfile_stages, lock_pins
from worker.__about__ import __version__

_STEP_TIMEOUT = 300
# What the builder installs besides the locked set: the installer and the project.
_NOT_LOCKED = frozenset({"pip", "setuptools", "harmony-sweeper"})
_SHELL_OPERATORS = frozenset({";", "|", "||", "&", ">", "<", "$(", "`"})


class _Builder:
    """Just enough of a Dockerfile stage's semantics for our builder: WORKDIR, COPY, RUN."""

    def __init__(self, stage: Stage, root: Path) -> None:
        self.stage = stage
        self.root = root
        self.workdir = root  # Docker's default working directory is /
        root.mkdir(parents=True, exist_ok=True)
        self.environment = {**os.environ, **stage.env()}
        # The image keeps no pip cache; here a warm one only saves time.
        for name in ("PIP_NO_CACHE_DIR", "PYTHONPATH", "VIRTUAL_ENV"):
            self.environment.pop(name, None)

    def path(self, text: str) -> Path:
        return self.root / text.lstrip("/") if text.startswith("/") else self.workdir / text

    def build(self) -> None:
        for instruction in self.stage.instructions:
            handler = getattr(self, f"_{instruction.keyword.lower()}", None)
            if handler is None:
                assert instruction.keyword in ("ENV", "ARG", "LABEL"), instruction
                continue
            handler(instruction)

    def _workdir(self, instruction: Instruction) -> None:
        self.workdir = self.path(instruction.arguments)
        self.workdir.mkdir(parents=True, exist_ok=True)

    def _copy(self, instruction: Instruction) -> None:
        *sources, destination = instruction.words()
        assert not any(source.startswith("--") for source in sources), instruction
        target = self.path(destination)
        for source in sources:
            origin = REPO / source
            if origin.is_dir():
                shutil.copytree(
                    origin, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
                )
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target / origin.name)

    def _run(self, instruction: Instruction) -> None:
        words = instruction.words()
        assert not _SHELL_OPERATORS & set(words), f"line {instruction.line}: only && is supported"
        commands: list[list[str]] = [[]]
        for word in words:
            if word == "&&":
                commands.append([])
            else:
                commands[-1].append(word)
        for command in commands:
            self.execute(command, line=instruction.line)

    def execute(self, command: list[str], *, line: int) -> str:
        argv: list[str] = []
        for word in command:
            assert "=/" not in word, f"line {line}: write the path as its own word: {word}"
            if word == "python":
                argv.append(sys.executable)
            elif word.startswith("/"):
                matches = sorted(glob.glob(str(self.path(word))))
                assert matches or "*" not in word, f"line {line}: nothing matches {word}"
                argv.extend(matches or [str(self.path(word))])
            else:
                argv.append(word)
        result = subprocess.run(
            argv,
            cwd=self.workdir,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=_STEP_TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, (
            f"Dockerfile line {line}: {' '.join(command)}\n{result.stdout}\n{result.stderr}"
        )
        return result.stdout


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_builder_stage_installs_the_lock_and_a_working_command(tmp_path: Path) -> None:
    builder = _Builder(dockerfile_stages()[0], tmp_path / "root")
    builder.build()  # its last step runs `harmony-sweeper --version` as the image build does

    (copy,) = [c for c in dockerfile_stages()[-1].all("COPY") if c.words()[0] == "--from=builder"]
    venv = copy.words()[1]  # as the Dockerfile names it: execute() moves it under the root
    python = f"{venv}/bin/python"
    version = builder.execute([f"{venv}/bin/harmony-sweeper", "--version"], line=0)
    assert __version__ in version
    builder.execute([python, "-m", "pip", "check"], line=0)
    listed = json.loads(builder.execute([python, "-m", "pip", "list", "--format=json"], line=0))
    installed = {item["name"].lower().replace("_", "-"): item["version"] for item in listed}
    locked = {pin.name: str(pin.version) for pin in lock_pins()}
    # Exactly the locked set: nothing fetched from outside the lock, nothing missing.
    assert {k: v for k, v in installed.items() if k not in _NOT_LOCKED} == locked
    assert installed["harmony-sweeper"] == __version__
