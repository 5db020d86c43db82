"""Validates resolved properties against the CloudFormation registry schemas pinned in cfn-lint.

The template is resolved first (see :mod:`.resolve`), then handed to cfn-lint, whose schema rules
(``E3xxx``: patterns, lengths, enums, types, required and unknown properties) now see the strings
CloudFormation will pass instead of intrinsics that match every pattern. Values that stay unresolved
are left as intrinsics, which cfn-lint skips.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .findings import Finding, StackView

MISSING_EXTRA = "the preflight needs cfn-lint's CloudFormation schemas: pip install 'cdk-ecr-ptc[preflight]'"


class MissingExtra(Exception):
    """cfn-lint (the ``preflight`` extra) is not installed."""


def require_cfnlint() -> None:
    """Raises :class:`MissingExtra` when cfn-lint is not installed."""
    try:
        import cfnlint  # type: ignore[import-untyped]  # noqa: F401
    except ImportError as error:
        raise MissingExtra(MISSING_EXTRA) from error


def resolved_template(view: StackView) -> dict[str, Any]:
    """The stack's template with the resources that exist and their properties resolved."""
    resources = {}
    for logical_id, resource in view.resources.items():
        resolved = {key: value for key, value in resource.items() if key != "Condition"}
        if isinstance(resource.get("Properties"), dict):
            resolved["Properties"] = view.resolver.properties(logical_id)
        resources[logical_id] = resolved
    template = {key: value for key, value in view.stack.template.items() if key not in ("Conditions", "Rules")}
    return template | {"Resources": resources}


def schema_findings(view: StackView) -> Iterator[Finding]:
    """Flags resolved properties that the resource type's registry schema rejects."""
    require_cfnlint()
    from cfnlint.api import lint  # type: ignore[import-untyped]
    from cfnlint.config import ManualArgs  # type: ignore[import-untyped]

    template = resolved_template(view)
    matches = lint(json.dumps(template), config=ManualArgs(regions=[view.stack.region]))
    seen = set()
    for match in matches:
        rule_id = str(match.rule.id)
        path = list(getattr(match, "path", None) or [])
        if not rule_id.startswith("E3") or len(path) < 3 or path[0] != "Resources" or path[2] != "Properties":
            continue
        logical_id = str(path[1])
        key = (rule_id, tuple(str(p) for p in path))
        if key in seen:
            continue
        seen.add(key)
        yield view.finding(
            "schema",
            logical_id,
            _at(template, path),
            f"{'/'.join(str(p) for p in path[2:])}: {match.message} (cfn-lint {rule_id}, on the resolved value)",
            _fix(view, logical_id, path),
        )


def _at(template: dict[str, Any], path: list[Any]) -> Any:
    node: Any = template
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return "(absent)"
    return node


def _fix(view: StackView, logical_id: str, path: list[Any]) -> str:
    raw = view.resources[logical_id].get("Properties") or {}
    source = _at({"Properties": raw}, ["Properties", *path[3:4]])
    origin = ""
    if isinstance(source, dict) and "Fn::GetAtt" in source:
        target = source["Fn::GetAtt"]
        target = target[0] if isinstance(target, list) else str(target).split(".")[0]
        origin = f" The value comes from {view.path(str(target))}: change that resource so its value fits."
    return "Change the value so that the resource type's schema accepts it." + origin
