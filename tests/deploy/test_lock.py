"""requirements.lock: every runtime dependency pinned with hashes, and nothing else."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.manifests import LOCK, REPO, lock_pins

REFRESH = (
    "uv pip compile pyproject.toml --generate-hashes --python-version 3.11 "
    "--python-platform x86_64-unknown-linux-gnu -o requirements.lock"
)


def _project() -> dict[str, object]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    project: dict[str, object] = data["project"]
    return project


def _runtime_requirements() -> list[Requirement]:
    dependencies = _project()["dependencies"]
    assert isinstance(dependencies, list)
    return [Requirement(text) for text in dependencies]


def test_every_requirement_is_pinned_with_hashes() -> None:
    pins = lock_pins()
    assert pins
    names = [pin.name for pin in pins]
    assert len(names) == len(set(names)), "a package pinned twice"


@pytest.mark.parametrize(
    "entry",
    [
        "anyio==4.16.0",  # no hash
        "anyio>=4.4 --hash=sha256:" + "0" * 64,  # not pinned
        "anyio==4.16.0 --hash=md5:" + "0" * 32,  # not sha256
        "-e ./vendored/anyio",
        "https://example.com/anyio-4.16.0.tar.gz",
    ],
)
def test_unpinned_or_unhashed_entries_are_refused(entry: str, tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text(f"# header\n{entry}\n    # via harmony-sweeper\n", encoding="utf-8")
    with pytest.raises(AssertionError, match=r"requirements\.lock:2"):
        lock_pins(lock)


def test_every_runtime_dependency_is_locked_at_a_version_it_accepts() -> None:
    pins = {pin.name: pin for pin in lock_pins()}
    for requirement in _runtime_requirements():
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement.name} is not in requirements.lock"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"requirements.lock:{pin.line}: {requirement.name}=={pin.version} "
            f"does not satisfy {requirement.specifier}"
        )


def test_no_development_dependency_and_not_the_project_itself() -> None:
    runtime = {canonicalize_name(r.name) for r in _runtime_requirements()}
    extras = _project()["optional-dependencies"]
    assert isinstance(extras, dict)
    development = {canonicalize_name(Requirement(text).name) for text in extras["dev"]}
    locked = {pin.name for pin in lock_pins()}
    assert not (development - runtime) & locked
    assert canonicalize_name(str(_project()["name"])) not in locked


def test_lock_says_how_to_refresh_it() -> None:
    header = LOCK.read_text(encoding="utf-8").split("\n", 3)[:3]
    assert any(line.strip("# ").strip() == REFRESH for line in header), header
