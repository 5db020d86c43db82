"""What a preflight check reports, and the per-stack view every check reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

from .assembly import Stack
from .resolve import Resolver, Unresolved

CDK_PATH = "aws:cdk:path"


@dataclass(frozen=True)
class Finding:
    """One thing that would fail (or collide) at deploy.

    Attributes:
        check: the check's id, e.g. ``schema`` or ``registry-policy-scope``.
        stack: the stack's display name.
        path: the construct path (the resource's ``aws:cdk:path`` metadata), else its logical ID.
        logical_id: the resource's logical ID.
        resource_type: the resource's type.
        value: the resolved value at fault, as text.
        problem: what CloudFormation or the service will do with it.
        fix: how to make it deploy.
    """

    check: str
    stack: str
    path: str
    logical_id: str
    resource_type: str
    value: str
    problem: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        """The finding as the JSON output holds it."""
        return asdict(self)


class StackView:
    """One stack with its resolver, as the checks read it."""

    def __init__(self, stack: Stack, parameters: dict[str, Any] | None = None) -> None:
        self.stack = stack
        self.resolver = Resolver(stack, parameters)

    @cached_property
    def resources(self) -> dict[str, dict[str, Any]]:
        """The resources that will exist (their ``Condition`` holds or cannot be decided)."""
        found = {}
        for logical_id, resource in self.resolver.resources.items():
            try:
                exists = self.resolver.exists(logical_id)
            except Unresolved:
                exists = True
            if exists:
                found[logical_id] = resource
        return found

    def of_type(self, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """The resources of the given types, in template order."""
        return ((lid, res) for lid, res in self.resources.items() if res.get("Type") in types)

    def path(self, logical_id: str) -> str:
        """The construct path of a resource, or its logical ID."""
        metadata = self.resources.get(logical_id, {}).get("Metadata") or {}
        path = metadata.get(CDK_PATH) if isinstance(metadata, dict) else None
        return path if isinstance(path, str) else logical_id

    def finding(self, check: str, logical_id: str, value: Any, problem: str, fix: str) -> Finding:
        """A finding on one of this stack's resources."""
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        resource = self.resolver.resources.get(logical_id, {})
        return Finding(
            check=check,
            stack=self.stack.display_name,
            path=self.path(logical_id),
            logical_id=logical_id,
            resource_type=str(resource.get("Type", "")),
            value=text,
            problem=problem,
            fix=fix,
        )


def as_list(value: Any) -> list[Any]:
    """``value`` as a list (IAM's one-or-many fields)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def policy_document(value: Any) -> dict[str, Any] | None:
    """A resolved policy: an object, or a JSON string of one; None when it is neither."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None
