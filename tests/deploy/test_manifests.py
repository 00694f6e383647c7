"""deploy/kubernetes: every manifest validated offline against the Kubernetes schemas."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from tests.deploy.manifests import (
    APP_NAME,
    KUSTOMIZATION,
    MIN_KUBERNETES,
    NAMESPACE,
    STANDALONE,
    Resource,
    kustomization_files,
    load_yaml_documents,
    manifest_files,
    relative_label,
    resource_label,
    resources,
    walk,
    workloads,
)

KUBERNETES_VERSIONS = sorted({MIN_KUBERNETES, latest_version()})


# --- Schemas and kustomizations ------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("resource", resources(), ids=resource_label)
def test_manifest_validates_against_the_kubernetes_schema(resource: Resource, version: str) -> None:
    # strict: an unknown or misspelt field is an error, not silently dropped by the server.
    kubernetes_validate.validate(dict(resource.body), version, strict=True)


@pytest.mark.parametrize("path", kustomization_files(), ids=relative_label)
def test_kustomization_lists_files_that_exist_and_validate(path: Path) -> None:
    (kustomization,) = load_yaml_documents(path)
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["namespace"] == NAMESPACE
    listed = [path.parent / entry for entry in kustomization["resources"]]
    for file in listed:
        assert file.is_file(), f"{path}: lists {file.name}, which does not exist"
        assert file.parent == path.parent, f"{path}: {file} is outside its directory"
        assert file.name not in STANDALONE, f"{path}: {file.name} must be applied by hand"
        assert file in manifest_files()  # so the schema test above validates it
        assert resources(file), f"{file} holds no resource"
    # Nothing in the directory is forgotten: each file is listed or applied by hand.
    unlisted = {p.name for p in path.parent.glob("*.yaml")} - {f.name for f in listed}
    assert unlisted <= STANDALONE | {KUSTOMIZATION}, f"{path}: not listed: {sorted(unlisted)}"


def test_every_manifest_belongs_to_a_kustomization_or_is_applied_by_hand() -> None:
    listed = {
        path.parent / entry
        for path in kustomization_files()
        for entry in load_yaml_documents(path)[0]["resources"]
    }
    orphans = [p for p in manifest_files() if p not in listed and p.name not in STANDALONE]
    assert not orphans


def test_images_are_pinned_and_agree() -> None:
    images = {r.container["image"] for r in workloads()}
    tags = {image.rpartition(":")[2] for image in images}
    assert len(images) == 1, images
    (image,) = images
    name, _, tag = image.rpartition(":")
    assert tag not in ("", "latest"), image
    assert "/" not in tag, f"{image} has no tag"
    for path in kustomization_files():
        (kustomization,) = load_yaml_documents(path)
        (override,) = kustomization["images"]
        assert override["name"] == name
        assert str(override["newTag"]) in tags, f"{path}: newTag differs from {image}"
    for workload in workloads():
        assert workload.container["imagePullPolicy"] == "IfNotPresent"


@pytest.mark.parametrize("path", kustomization_files(), ids=relative_label)
def test_kustomize_build_renders_valid_namespaced_resources(path: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the kustomization was checked as data only")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(path.parent)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    (kustomization,) = load_yaml_documents(path)
    (override,) = kustomization["images"]
    parts = (("newTag", ":"), ("digest", "@"))
    image = override["newName"] + "".join(f"{s}{override[k]}" for k, s in parts if k in override)
    documents = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    listed = [path.parent / entry for entry in kustomization["resources"]]
    assert len(documents) == sum(len(resources(file)) for file in listed)
    for document in documents:
        assert document["metadata"]["namespace"] == NAMESPACE
        kubernetes_validate.validate(document, MIN_KUBERNETES, strict=True)
        for key_path, value in walk(document):
            if key_path and key_path[-1] == "image":
                assert value == image


# --- Labels --------------------------------------------------------------------------


@pytest.mark.parametrize("resource", resources(), ids=resource_label)
def test_resources_carry_the_recommended_labels(resource: Resource) -> None:
    labels = resource.body["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == APP_NAME
    if resource.job_spec is None:
        return
    instance = labels["app.kubernetes.io/instance"]
    assert instance == resource.name
    assert resource.pod_labels["app.kubernetes.io/name"] == APP_NAME
    assert resource.pod_labels["app.kubernetes.io/instance"] == instance
    if resource.kind == "CronJob":
        job_labels = resource.body["spec"]["jobTemplate"]["metadata"]["labels"]
        assert job_labels["app.kubernetes.io/instance"] == instance
