"""deploy/kubernetes and the image: the configuration and arguments the sweeper gets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import click
import pytest

from tests.deploy.manifests import (
    REPORT_MARGIN,
    Resource,
    config_maps,
    config_toml,
    dockerfile_stages,
    is_indexed,
    mounted_files,
    resource_label,
    secrets,
    workloads,
)
from worker.cli import cli
from worker.settings import load_settings


def _pod_environment(workload: Resource) -> dict[str, str]:
    """The container's environment, Secret values replaced by fake keys."""
    environment = {}
    for entry in workload.container.get("env", []):
        environment[entry["name"]] = entry.get("value", "fake-key-for-tests")
    for source in workload.container.get("envFrom", []):
        for name in secrets()[source["secretRef"]["name"]].body["stringData"]:
            environment[name] = "fake-key-for-tests"
    if is_indexed(workload):
        environment["JOB_COMPLETION_INDEX"] = "0"
    return environment


@pytest.mark.parametrize("workload", workloads(), ids=resource_label)
def test_config_loads_with_the_pods_environment(workload: Resource, tmp_path: Path) -> None:
    _, text = config_toml(workload)
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    # What the pod does first: an unknown key or SWEEPER_* variable would be exit 2.
    settings = load_settings(config_file=config, environ=_pod_environment(workload))
    termination = timedelta(seconds=workload.pod_spec["terminationGracePeriodSeconds"])
    assert settings.grace_period + REPORT_MARGIN <= termination


def _materialize(workload: Resource, root: Path) -> dict[str, Path]:
    """The pod's mounts under ``root``, ConfigMap files written; mount path -> directory."""
    contents = {name: r.body.get("data", {}) for name, r in config_maps().items()}
    for path, (config_map, key) in mounted_files(workload).items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        # A ConfigMap created by hand (the approved report) is not in the repository.
        target.write_text(contents.get(config_map, {}).get(key, "{}"), encoding="utf-8")
    mounts = {}
    for mount in workload.container["volumeMounts"]:
        directory = root / mount["mountPath"].lstrip("/")
        directory.mkdir(parents=True, exist_ok=True)
        mounts[mount["mountPath"]] = directory
    return mounts


def _relocate(arg: str, mounts: Mapping[str, Path]) -> str:
    for mount_path, directory in mounts.items():
        if arg.startswith(f"{mount_path}/"):
            return str(directory) + arg[len(mount_path) :]
    return arg


def _run_command() -> click.Command:
    assert isinstance(cli, click.Group)
    return cli.commands["run"]


def _image_command() -> list[str]:
    runtime = dockerfile_stages()[-1]
    (entrypoint,) = runtime.all("ENTRYPOINT")
    (cmd,) = runtime.all("CMD")
    return [*entrypoint.exec_form(), *cmd.exec_form()]


def test_image_runs_the_sweeper_with_a_mounted_config() -> None:
    command = _image_command()
    assert command[:2] == ["harmony-sweeper", "run"]
    assert command[command.index("--config") + 1] == "/etc/harmony-sweeper/config.toml"
    for workload in workloads():
        assert config_toml(workload)[0] == "/etc/harmony-sweeper/config.toml"


@pytest.mark.parametrize("workload", workloads(), ids=resource_label)
def test_container_arguments_parse_with_the_cli(
    workload: Resource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = _run_command()
    mounts = _materialize(workload, tmp_path)
    args = list(workload.container["args"])
    assert args[0] == "run"
    local = [_relocate(arg, mounts) for arg in args[1:]]
    for name in [n for n in os.environ if n.startswith(("SWEEPER_", "HARMONY_"))]:
        monkeypatch.delenv(name)
    for name, value in _pod_environment(workload).items():
        monkeypatch.setenv(name, value)
    with command.make_context("harmony-sweeper run", local) as context:
        assert context.params  # parsed: every flag and value is one the CLI knows


def test_image_command_parses_with_the_cli(tmp_path: Path) -> None:
    command = _run_command()
    (nightly,) = [w for w in workloads() if w.kind == "CronJob" and not is_indexed(w)]
    mounts = _materialize(nightly, tmp_path)
    args = [_relocate(arg, mounts) for arg in _image_command()[2:]]
    with command.make_context("harmony-sweeper run", args) as context:
        config = mounts["/etc/harmony-sweeper"] / "config.toml"
        assert str(config) in {str(value) for value in context.params.values()}
