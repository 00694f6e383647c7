"""The deployment files as data: Kubernetes resources, kustomizations, and the Dockerfile."""

from __future__ import annotations

import copy
import functools
import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
KUBERNETES = REPO / "deploy" / "kubernetes"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
LOCK = REPO / "requirements.lock"

NAMESPACE = "harmony-sweeper"
APP_NAME = "harmony-sweeper"
CONTAINER = "sweeper"
KUSTOMIZATION = "kustomization.yaml"
# Applied once by hand, never through a kustomization: see their header comments.
STANDALONE = frozenset({"namespace.yaml", "secret.example.yaml"})
# The oldest Kubernetes these manifests are written for: podFailurePolicy is GA in 1.31.
MIN_KUBERNETES = "1.31"
# After grace_period, the sweeper still writes its report and pushes its metrics.
REPORT_MARGIN = timedelta(seconds=10)

_QUANTITY = re.compile(r"(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?")
_FACTORS = {
    None: 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
}


def quantity(value: object) -> float:
    """A Kubernetes quantity (``50m``, ``256Mi``, ``1``) as a number of units."""
    match = _QUANTITY.fullmatch(str(value))
    assert match, f"{value!r} is not a Kubernetes quantity"
    return float(match.group(1)) * _FACTORS[match.group(2)]


@dataclass(frozen=True, slots=True)
class Resource:
    """One document of a manifest file."""

    path: Path
    body: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    @property
    def label(self) -> str:
        """``orgs/cronjob.yaml:CronJob/harmony-sweeper-orgs``, for test ids and messages."""
        return f"{self.path.relative_to(KUBERNETES)}:{self.kind}/{self.name}"

    @property
    def job_spec(self) -> Mapping[str, Any] | None:
        if self.kind == "CronJob":
            return self.body["spec"]["jobTemplate"]["spec"]
        if self.kind == "Job":
            return self.body["spec"]
        return None

    @property
    def pod_spec(self) -> Mapping[str, Any]:
        job = self.job_spec
        assert job is not None, f"{self.label} runs no pod"
        return job["template"]["spec"]

    @property
    def pod_labels(self) -> Mapping[str, str]:
        job = self.job_spec
        assert job is not None, f"{self.label} runs no pod"
        return job["template"]["metadata"]["labels"]

    @property
    def container(self) -> Mapping[str, Any]:
        """The sweeper's container; a workload has exactly one, and no init containers."""
        spec = self.pod_spec
        assert "initContainers" not in spec, f"{self.label}: unexpected init containers"
        (container,) = spec["containers"]
        return container


def resource_label(resource: Resource) -> str:
    """The test id of a parametrized resource."""
    return resource.label


def relative_label(path: Path) -> str:
    """The test id of a parametrized file under deploy/kubernetes."""
    return str(path.relative_to(KUBERNETES))


def load_yaml_documents(path: Path) -> list[Mapping[str, Any]]:
    """The documents of a YAML file; a fresh copy each time, so no test sees another's edits."""
    return copy.deepcopy(_parse_yaml(path))


@functools.cache
def _parse_yaml(path: Path) -> list[Mapping[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def manifest_files() -> list[Path]:
    """Every YAML file under deploy/kubernetes except the kustomizations."""
    return sorted(p for p in KUBERNETES.rglob("*.yaml") if p.name != KUSTOMIZATION)


def kustomization_files() -> list[Path]:
    return sorted(KUBERNETES.rglob(KUSTOMIZATION))


def resources(path: Path | None = None) -> list[Resource]:
    paths = [path] if path is not None else manifest_files()
    return [Resource(p, body) for p in paths for body in load_yaml_documents(p)]


def workloads() -> list[Resource]:
    """The CronJobs and Jobs: everything that runs the sweeper."""
    return [r for r in resources() if r.job_spec is not None]


def secrets() -> dict[str, Resource]:
    return {r.name: r for r in resources() if r.kind == "Secret"}


def config_maps() -> dict[str, Resource]:
    return {r.name: r for r in resources() if r.kind == "ConfigMap"}


def is_indexed(workload: Resource) -> bool:
    job = workload.job_spec
    return job is not None and job.get("completionMode") == "Indexed"


def env_value(container: Mapping[str, Any], name: str) -> str | None:
    for entry in container.get("env", []):
        if entry["name"] == name:
            return entry.get("value")
    return None


def mounted_files(workload: Resource) -> dict[str, tuple[str, str]]:
    """``/etc/harmony-sweeper/config.toml`` -> (ConfigMap name, key), for every file the
    pod mounts from a ConfigMap, directly or through a projected volume."""
    volumes = {v["name"]: v for v in workload.pod_spec.get("volumes", [])}
    files: dict[str, tuple[str, str]] = {}
    for mount in workload.container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        if "configMap" in volume:
            sources = [volume["configMap"]]
        elif "projected" in volume:
            sources = [s["configMap"] for s in volume["projected"]["sources"] if "configMap" in s]
        else:
            continue
        for source in sources:
            items = source.get("items")
            if items is None:  # every key of the ConfigMap, each under its own name
                known = config_maps().get(source["name"])
                keys = list(known.body.get("data", {})) if known is not None else []
                items = [{"key": key, "path": key} for key in keys]
            for item in items:
                files[f"{mount['mountPath']}/{item['path']}"] = (source["name"], item["key"])
    return files


def config_toml(workload: Resource) -> tuple[str, str]:
    """(path in the pod, text) of the config file that the container's --config names."""
    args = list(workload.container["args"])
    path = args[args.index("--config") + 1]
    config_map, key = mounted_files(workload)[path]
    return path, str(config_maps()[config_map].body["data"][key])


KeyPath = tuple[str | int, ...]


def walk(node: object, path: KeyPath = ()) -> Iterator[tuple[KeyPath, object]]:
    """Every (path, value) of a parsed YAML document, depth first."""
    yield path, node
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, index))


# --- The Dockerfile -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    arguments: str
    line: int

    def exec_form(self) -> list[str]:
        """The JSON array of ``ENTRYPOINT [...]`` or ``CMD [...]``."""
        value = json.loads(self.arguments)
        assert isinstance(value, list), f"line {self.line}: {self.keyword} not in exec form"
        return [str(item) for item in value]

    def words(self) -> list[str]:
        return shlex.split(self.arguments)


@dataclass(slots=True)
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        """The variables this stage's ENV instructions set."""
        return dict(pair for i in self.all("ENV") for pair in key_values(i))


_CONTINUATION = re.compile(r"\\\s*$")


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):  # a comment inside a continued instruction
            continue
        if not pending:
            start = number
        if _CONTINUATION.search(raw):
            pending.append(_CONTINUATION.sub("", raw))
            continue
        pending.append(raw)
        keyword, _, arguments = " ".join(part.strip() for part in pending).partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip(), start))
        pending = []
    assert not pending, f"{path}: ends inside a continued instruction"
    return instructions


def dockerfile_args(instructions: list[Instruction]) -> dict[str, str]:
    """Defaults of the ARGs declared before the first FROM (the global scope)."""
    args: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword == "FROM":
            break
        if instruction.keyword == "ARG":
            name, _, default = instruction.arguments.partition("=")
            args[name] = default
    return args


def dockerfile_stages(path: Path = DOCKERFILE) -> list[Stage]:
    instructions = dockerfile_instructions(path)
    global_args = dockerfile_args(instructions)
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = [w for w in instruction.words() if not w.startswith("--platform")]
            base = re.sub(
                r"\$\{(\w+)\}|\$(\w+)",
                lambda m: global_args[m.group(1) or m.group(2)],
                words[0],
            )
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        elif stages:
            stages[-1].instructions.append(instruction)
    return stages


def key_values(instruction: Instruction) -> list[tuple[str, str]]:
    """The ``KEY=value`` pairs of an ENV, LABEL or ARG instruction (a bare ARG: value "")."""
    pairs = []
    for word in instruction.words():
        key, sep, value = word.partition("=")
        assert sep or instruction.keyword == "ARG", f"line {instruction.line}: write KEY=value"
        pairs.append((key, value))
    return pairs


# --- requirements.lock ---------------------------------------------------------------

_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9A-Za-z.+!-]+)")
_HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Pin:
    name: str  # canonical
    version: Version
    hashes: tuple[str, ...]
    line: int


def lock_pins(path: Path = LOCK) -> list[Pin]:
    """The lock's requirements, continuation lines joined; malformed entries fail here."""
    pins: list[Pin] = []
    words: list[str] = []
    start = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not words and (not line or line.startswith("#")):
            continue
        if not words:
            start = number
        words += line.removesuffix("\\").split()
        if line.endswith("\\"):
            continue
        pin = _PIN.fullmatch(words[0])
        assert pin, f"{path.name}:{start}: {words[0]!r} is not name==version"
        hashes = tuple(words[1:])
        assert hashes, f"{path.name}:{start}: {words[0]} has no hash"
        for word in hashes:
            assert _HASH.fullmatch(word), f"{path.name}:{start}: {word!r}"
        pins.append(Pin(canonicalize_name(pin.group(1)), Version(pin.group(2)), hashes, start))
        words = []
    assert not words, f"{path.name} ends inside a continued line"
    return pins
