"""Look-ups in a report, shared by the report tests."""

from typing import Any


def registry_of(report: dict[str, Any], key: str) -> dict[str, Any]:
    """The registry ``key`` of a report."""
    (registry,) = [r for r in report["registries"] if r["key"] == key]
    return registry


def principal_of(report: dict[str, Any], name: str) -> dict[str, Any]:
    """The principal ``name`` of a report."""
    (principal,) = [p for p in report["principals"] if p["name"] == name]
    return principal
