"""deploy/kubernetes: the pods run unprivileged, bounded, with keys only from Secrets."""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Mapping
from typing import Any

import pytest

from tests.deploy.manifests import (
    Resource,
    config_toml,
    dockerfile_stages,
    quantity,
    resource_label,
    resources,
    secrets,
    walk,
    workloads,
)

_PLACEHOLDER = re.compile(r"<replace-with-[a-z0-9-]+>")
_PATH_FLAGS = frozenset({"--report", "--lock-file", "--audit-log"})
# Resource amounts: the JSON schemas accept any string there, the API server does not.
_QUANTITY_KEYS = frozenset({"cpu", "memory", "ephemeral-storage", "sizeLimit"})


# --- Security ------------------------------------------------------------------------


def _image_uid() -> int:
    (user,) = dockerfile_stages()[-1].all("USER")
    uid, _, _ = user.arguments.partition(":")
    return int(uid)


@pytest.mark.parametrize("workload", workloads(), ids=resource_label)
def test_no_container_runs_as_root(workload: Resource) -> None:
    pod, container = workload.pod_spec, workload.container
    pod_context, context = pod.get("securityContext", {}), container.get("securityContext", {})

    def effective(key: str) -> Any:
        return context.get(key, pod_context.get(key))

    assert effective("runAsNonRoot") is True
    assert effective("runAsUser") == _image_uid() != 0
    assert effective("runAsGroup") not in (None, 0)
    assert effective("seccompProfile") == {"type": "RuntimeDefault"}
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context.get("privileged", False) is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert not any(pod.get(key) for key in ("hostNetwork", "hostPID", "hostIPC"))
    assert not any("hostPath" in volume for volume in pod.get("volumes", []))
    # No Kubernetes API token, and no service variables that could collide with SWEEPER_*.
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False


@pytest.mark.parametrize("workload", workloads(), ids=resource_label)
def test_writable_paths_are_volumes(workload: Resource) -> None:
    volumes = {v["name"]: v for v in workload.pod_spec["volumes"]}
    mounts = workload.container["volumeMounts"]
    writable = set()
    for mount in mounts:
        volume = volumes[mount["name"]]
        if mount.get("readOnly"):
            continue
        assert "emptyDir" in volume or "persistentVolumeClaim" in volume, mount
        writable.add(mount["mountPath"])
    workdir = dockerfile_stages()[-1].all("WORKDIR")[-1].arguments
    assert {"/tmp", workdir} <= writable  # noqa: S108 - the pod's own emptyDir
    args = list(workload.container["args"])
    for flag, value in itertools.pairwise(args):
        if flag in _PATH_FLAGS:
            assert any(value.startswith(f"{path}/") for path in writable), (flag, value)
    for volume in volumes.values():
        if "emptyDir" in volume:
            assert "sizeLimit" in volume["emptyDir"], volume["name"]


@pytest.mark.parametrize("workload", workloads(), ids=resource_label)
def test_resources_are_requested_and_limited(workload: Resource) -> None:
    resources_ = workload.container["resources"]
    for kind in ("cpu", "memory"):
        request = quantity(resources_["requests"][kind])
        limit = quantity(resources_["limits"][kind])
        assert 0 < request <= limit, kind
    # An I/O-bound job: a small request; room in memory for a large organization's scan.
    assert quantity(resources_["requests"]["cpu"]) <= 0.25
    assert 512 * 2**20 <= quantity(resources_["limits"]["memory"]) <= 4 * 2**30


@pytest.mark.parametrize("resource", resources(), ids=resource_label)
def test_quantities_are_well_formed(resource: Resource) -> None:
    # The JSON schemas accept any string here; the API server would refuse the manifest.
    for key_path, value in walk(resource.body):
        if key_path and key_path[-1] in _QUANTITY_KEYS and not isinstance(value, Mapping):
            quantity(value)


# --- Secrets -------------------------------------------------------------------------


@pytest.mark.parametrize("secret", list(secrets().values()), ids=resource_label)
def test_secret_templates_hold_placeholders_only(secret: Resource) -> None:
    assert secret.path.name == "secret.example.yaml"
    assert "data" not in secret.body, "base64 data: is where a real key would hide"
    values = secret.body["stringData"]
    assert values
    for name, value in values.items():
        assert _PLACEHOLDER.fullmatch(value), f"{name} looks like a real key"


@pytest.mark.parametrize("workload", workloads(), ids=resource_label)
def test_keys_come_only_from_secrets(workload: Resource) -> None:
    container = workload.container
    templates = secrets()
    for entry in container.get("env", []):
        if re.search("KEY|SECRET|TOKEN|PASSWORD", entry["name"]):
            assert "value" not in entry, f"{entry['name']} is set in clear in the manifest"
        reference = entry.get("valueFrom", {}).get("secretKeyRef")
        if reference is not None:
            assert reference["key"] in templates[reference["name"]].body["stringData"]
    for source in container.get("envFrom", []):
        assert source["secretRef"]["name"] in templates
    assert any(
        "secretKeyRef" in e.get("valueFrom", {}) for e in container.get("env", [])
    ) or container.get("envFrom"), "the pod gets no API key"


def test_every_organization_key_is_in_the_secret_template() -> None:
    for workload in workloads():
        organizations = tomllib.loads(config_toml(workload)[1]).get("orgs", [])
        if not organizations:
            continue
        (source,) = workload.container["envFrom"]
        template = secrets()[source["secretRef"]["name"]].body["stringData"]
        for organization in organizations:
            names = [v for k, v in organization.items() if k.endswith("_env")]
            assert names, f"{organization['name']}: no variable named for its key"
            assert set(names) <= set(template), organization["name"]
