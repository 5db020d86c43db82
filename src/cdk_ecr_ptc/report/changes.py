"""Compares two reports (``--baseline OLD_CDK_OUT``): new pullers, lost pullers and new accounts."""

from typing import Any


def compare(baseline: dict[str, Any], current: dict[str, Any], label: str) -> dict[str, Any]:
    """The access that changed from ``baseline`` to ``current``, as the ``changes`` field of the report.

    A puller is a (principal, registry, rule) whose first pull is allowed. An account is new when a
    principal of it (or an organization) can pull now and none could before.
    """
    old, new = _pullers(baseline), _pullers(current)
    return {
        "baseline": label,
        "new_pullers": [_pair(key) for key in new if key not in old],
        "lost_pullers": [_pair(key) for key in old if key not in new],
        "new_accounts": [a for a in dict.fromkeys(new.values()) if a not in set(old.values())],
    }


def _pullers(report: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    """``{(principal, registry, rule): account}`` of every allowed first pull, in report order."""
    accounts = {p["name"]: _account(p) for p in report["principals"]}
    return {
        (a["principal"], registry["key"], a["rule"]): accounts[a["principal"]]
        for registry in report["registries"]
        for a in registry["access"]
        if a["allowed"]
    }


def _account(principal: dict[str, Any]) -> str:
    if principal["kind"] == "organization":
        return f"organization {principal['org_id']}"
    if principal["kind"] in ("anyone", "service"):
        return principal["name"]
    if principal["account"] in (None, "unknown-account"):
        return f"account of stack {principal['stack']}" if principal["stack"] else principal["name"]
    return f"account {principal['account']}"


def _pair(key: tuple[str, str, str]) -> dict[str, str]:
    principal, registry, rule = key
    return {"principal": principal, "registry": registry, "rule": rule}
