"""Reads the CloudFormation stacks of a cloud assembly (``cdk.out``), nested Stage assemblies included."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STACK = "aws:cloudformation:stack"
NESTED_ASSEMBLY = "cdk:cloud-assembly"


class AssemblyError(Exception):
    """The directory is not a readable cloud assembly."""


@dataclass(frozen=True)
class StackArtifact:
    """One synthesized stack: its display name, manifest environment and parsed template."""

    name: str
    environment: str
    template: dict[str, Any]


def read_assembly(directory: str | Path) -> list[StackArtifact]:
    """Returns every stack of the assembly in ``directory``, in manifest order, Stages recursed into.

    Raises
    ------
    AssemblyError
        When ``manifest.json`` or a template it names is missing or not valid JSON.
    """
    directory = Path(directory)
    manifest = load_json(directory / "manifest.json")
    stacks: list[StackArtifact] = []
    for artifact_id, artifact in (manifest.get("artifacts") or {}).items():
        properties = artifact.get("properties") or {}
        if artifact.get("type") == STACK:
            stacks.append(
                StackArtifact(
                    name=artifact.get("displayName") or artifact_id,
                    environment=artifact.get("environment") or "aws://unknown-account/unknown-region",
                    template=load_json(directory / artifact_property(artifact_id, properties, "templateFile")),
                )
            )
        elif artifact.get("type") == NESTED_ASSEMBLY:
            stacks.extend(read_assembly(directory / artifact_property(artifact_id, properties, "directoryName")))
    return stacks


def artifact_property(artifact_id: str, properties: dict[str, Any], name: str) -> str:
    """The string property ``name`` of a manifest artifact; raises :class:`AssemblyError` when it is missing."""
    value = properties.get(name)
    if not isinstance(value, str):
        raise AssemblyError(f"artifact {artifact_id} has no {name} property")
    return value


def load_json(path: Path) -> dict[str, Any]:
    """A JSON object read from ``path``; raises :class:`AssemblyError` when the file is missing or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise AssemblyError(f"no cloud assembly file at {path}") from error
    except ValueError as error:
        raise AssemblyError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise AssemblyError(f"{path} does not hold a JSON object")
    return data
