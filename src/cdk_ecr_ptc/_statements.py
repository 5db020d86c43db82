"""Resource-policy statements collected from many grants and rendered merged.

CDK's ``PolicyDocument(minimize=True)`` does not merge principals that contain tokens, and a
registry policy has a hard 10,240-character limit, so grants are merged here: one statement per
distinct (condition, actions, resources), carrying every principal that has exactly those.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

_MERGEABLE_KEYS = {"Effect", "Principal", "Action", "Resource", "Condition"}
#: Stands for the absent Resource element of repository-policy statements.
_NO_RESOURCE = ""
_TOKEN = re.compile(r"[$#]\{Token\[([A-Za-z0-9_.\-]*?)(?:\.\d+)?\]\}")
#: Longest value a token can take when deployed: partitions, account IDs, Region names.
_TOKEN_LENGTHS = {"AWS.Partition": len("aws-us-gov"), "AWS.AccountId": 12, "AWS.Region": len("ap-southeast-5"),
                  "AWS.URLSuffix": len("amazonaws.com.cn")}
#: Assumed length of any other token (an ARN attribute of a role defined in the app, say).
UNKNOWN_TOKEN_LENGTH = 128


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _single(values: list) -> Any:
    return values[0] if len(values) == 1 else values


class StatementSet:
    """Allow statements merged by principal, action and resource, plus statements kept as given."""

    def __init__(self) -> None:
        self._kept: list[dict] = []
        # (condition JSON, principal type, principal value) -> resource -> actions
        self._grants: dict[tuple[str, str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def add(self, statement: dict) -> None:
        """Adds one statement in IAM JSON form (as ``PolicyStatement.to_statement_json()`` gives it)."""
        principal = statement.get("Principal")
        if (statement.get("Effect") != "Allow" or not isinstance(principal, dict)
                or not set(statement) <= _MERGEABLE_KEYS):
            if statement not in self._kept:
                self._kept.append(statement)
            return
        condition = json.dumps(statement.get("Condition") or {}, sort_keys=True)
        for kind, values in principal.items():
            for value in _as_list(values):
                by_resource = self._grants[(condition, kind, value)]
                for resource in _as_list(statement.get("Resource", _NO_RESOURCE)):
                    by_resource[resource].update(_as_list(statement["Action"]))

    @property
    def is_empty(self) -> bool:
        """Tells whether no statement was added."""
        return not self._kept and not self._grants

    def statements(self) -> list[dict]:
        """Renders the statements: the kept ones first, then the merged grants in a stable order."""
        groups: dict[tuple[str, tuple[str, ...], tuple[str, ...]], dict[str, list[str]]] = {}
        for (condition, kind, value), by_resource in self._grants.items():
            resources_by_actions: dict[tuple[str, ...], list[str]] = defaultdict(list)
            for resource, actions in by_resource.items():
                resources_by_actions[tuple(sorted(actions))].append(resource)
            for actions, resources in resources_by_actions.items():
                principals = groups.setdefault((condition, actions, tuple(sorted(resources))), {})
                principals.setdefault(kind, []).append(value)
        merged = []
        for (condition, actions, resources), principals in sorted(groups.items()):
            statement = {
                "Effect": "Allow",
                "Principal": {kind: _single(sorted(values)) for kind, values in sorted(principals.items())},
                "Action": _single(list(actions)),
            }
            if resources != (_NO_RESOURCE,):
                statement["Resource"] = _single(list(resources))
            if condition != "{}":
                statement["Condition"] = json.loads(condition)
            merged.append(statement)
        return self._kept + merged

    def document(self) -> dict:
        """Renders the whole policy document."""
        return {"Version": "2012-10-17", "Statement": self.statements()}


def deployed_length(document: dict) -> int:
    """Estimates the compact JSON length of ``document`` once deployed, tokens at their longest."""
    text = json.dumps(document, separators=(",", ":"))
    return sum(len(part) for part in _TOKEN.split(text)[::2]) + sum(
        _TOKEN_LENGTHS.get(name, UNKNOWN_TOKEN_LENGTH) for name in _TOKEN.findall(text))


#: Conditions that limit a ``*`` principal to known accounts.
_LIMITING_KEYS = {"aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount"}


def open_statements(document: dict) -> list[dict]:
    """The Allow statements of ``document`` that any AWS principal could use: a ``*`` principal
    without an ``aws:PrincipalOrgID``, ``aws:PrincipalOrgPaths`` or ``aws:PrincipalAccount`` condition."""
    found = []
    for statement in document["Statement"]:
        principal = statement.get("Principal")
        values = [principal] if isinstance(principal, str) else [
            value for values in (principal or {}).values() for value in _as_list(values)]
        keys = {key.lower() for operator in (statement.get("Condition") or {}).values() for key in operator}
        if statement.get("Effect") == "Allow" and "*" in values and not keys & _LIMITING_KEYS:
            found.append(statement)
    return found
