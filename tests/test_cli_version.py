from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from worker.__about__ import __version__
from worker.cli import cli


def test_version_through_command_object() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_python_dash_m_worker_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "worker", "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert __version__ in proc.stdout
