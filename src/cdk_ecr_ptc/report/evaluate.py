"""A small IAM policy evaluator for one request against one set of statements.

It supports what a pull-through-cache report needs and says where it stops:

- ``Action``/``NotAction`` (case-insensitive) and ``Resource``/``NotResource`` with ``*`` and ``?``;
- ``Principal``/``NotPrincipal`` for resource policies: ``*``, account roots or bare account IDs,
  exact role/user ARNs, and ``Service`` principals;
- ``Condition`` with ``StringEquals``/``StringLike`` on ``aws:PrincipalOrgID`` and
  ``aws:PrincipalAccount``. Any other operator or key, or a key whose value is unknown for the
  principal, makes the statement *unknown*: an unknown Allow grants nothing, an unknown Deny denies
  (unknown means not allowed). Both are reported.
"""

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

_ROOT = re.compile(r"^arn:[^:]+:iam::([^:]+):root$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class Who:
    """The caller as the evaluator sees it: ARN, account, organization and service (None when unknown)."""

    arn: str | None
    account: str | None
    org_id: str | None = None
    service: str | None = None


@dataclass(frozen=True)
class Statement:
    """A policy statement with the place it came from (and its 1-based position), used in explanations."""

    source: str
    body: dict[str, Any]
    index: int = 0

    @property
    def label(self) -> str:
        """``source`` plus the statement's Sid, or its position when it has none (and has a position)."""
        sid = self.body.get("Sid")
        if isinstance(sid, str) and sid:
            return f"{self.source} ({sid})"
        return f"{self.source} (statement {self.index})" if self.index else self.source


@dataclass
class Verdict:
    """What one set of statements says about one request."""

    allowed_by: list[str] = field(default_factory=list)
    denied_by: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        """Whether some Allow applies (explicit Denies are checked separately)."""
        return bool(self.allowed_by)

    @property
    def denied(self) -> bool:
        """Whether some Deny applies, or might apply."""
        return bool(self.denied_by)


def evaluate(
    statements: list[Statement], action: str, resource: str, who: Who, *, home_account: str | None = None
) -> Verdict:
    """Evaluates ``action`` on ``resource`` by ``who``.

    Parameters
    ----------
    home_account
        Set for resource policies: the account that owns the resource. Statements then need a
        matching ``Principal``; an Allow to the home account's root delegates to identity policies
        and so grants nothing by itself. None for identity policies (no ``Principal``).
    """
    verdict = Verdict()
    for statement in statements:
        body = statement.body
        effect = body.get("Effect")
        if effect not in ("Allow", "Deny") or not _action_matches(body, action):
            continue
        if not _resource_matches(body, resource):
            continue
        if home_account is not None and not _principal_matches(body, who, effect, home_account):
            continue
        holds, why = condition_holds(body.get("Condition"), who)
        if holds is False:
            continue
        if effect == "Deny":
            verdict.denied_by.append(statement.label + ("" if holds else f": {why}, treated as a Deny"))
        elif holds:
            verdict.allowed_by.append(statement.label)
        else:
            verdict.unknown.append(f"{statement.label}: {why}")
    return verdict


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM-style matching where ``*`` is any run of characters and ``?`` is one character."""
    return _compile(pattern, ignore_case).fullmatch(value) is not None


@lru_cache(maxsize=1024)
def _compile(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _action_matches(body: dict[str, Any], action: str) -> bool:
    if "NotAction" in body:
        return not any(wildcard_match(str(p), action, ignore_case=True) for p in _as_list(body["NotAction"]))
    return any(wildcard_match(str(p), action, ignore_case=True) for p in _as_list(body.get("Action", [])))


def _resource_matches(body: dict[str, Any], resource: str) -> bool:
    if "NotResource" in body:
        return not any(wildcard_match(str(p), resource) for p in _as_list(body["NotResource"]))
    return any(wildcard_match(str(p), resource) for p in _as_list(body.get("Resource", "*")))


def _principal_matches(body: dict[str, Any], who: Who, effect: str, home_account: str) -> bool:
    if "NotPrincipal" in body:
        return not _names(body["NotPrincipal"], who, effect, home_account)
    return "Principal" in body and _names(body["Principal"], who, effect, home_account)


def _names(spec: Any, who: Who, effect: str, home_account: str) -> bool:
    """Whether a Principal element names ``who``."""
    if isinstance(spec, dict) and who.service is not None:
        if who.service in map(str, _as_list(spec.get("Service", []))):
            return True
    values = _as_list(spec.get("AWS", [])) if isinstance(spec, dict) else _as_list(spec)
    for value in map(str, values):
        if value == "*":
            return True
        account = account_of_root(value)
        if account is not None:
            if who.account == account and (effect == "Deny" or account != home_account):
                return True
        elif who.arn is not None and value == who.arn:
            return True
    return False


def account_of_root(value: str) -> str | None:
    """The account of an account principal (``arn:…:iam::ACCOUNT:root`` or a bare ID), else None."""
    match = _ROOT.match(value)
    if match:
        return match.group(1)
    return value if _ACCOUNT_ID.match(value) else None


_OPERATORS = {"stringequals": False, "stringlike": True}
_KEYS = {"aws:principalorgid": "org_id", "aws:principalaccount": "account"}


def condition_holds(condition: Any, who: Who) -> tuple[bool | None, str]:
    """True, False, or None (unknown, with the reason) for a Condition element and a caller."""
    if not condition:
        return True, ""
    if not isinstance(condition, dict):
        return None, "condition is not an object"
    unknown: list[str] = []
    for operator, block in condition.items():
        wildcards = _OPERATORS.get(str(operator).lower())
        if wildcards is None or not isinstance(block, dict):
            unknown.append(f"condition {operator} not evaluated")
            continue
        for key, expected in block.items():
            attribute = _KEYS.get(str(key).lower())
            actual = getattr(who, attribute) if attribute else None
            if actual is None:
                unknown.append(
                    f"condition {operator} {key} not evaluated"
                    if attribute is None
                    else f"{key} unknown for the principal"
                )
                continue
            if not any(wildcard_match(str(v), actual) if wildcards else str(v) == actual for v in _as_list(expected)):
                return False, ""
    return (None, "; ".join(unknown)) if unknown else (True, "")
