"""Resource-policy statements collected from many grants and rendered merged.

CDK's ``PolicyDocument(minimize=True)`` does not merge principals that contain tokens, and a
registry policy has a hard 10,240-character limit, so grants are merged here: one statement per
distinct (condition, actions, resources), carrying every principal that has exactly those.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._model import TOKEN

if TYPE_CHECKING:
    from aws_cdk import aws_iam as iam

_MERGEABLE_KEYS = {"Effect", "Principal", "Action", "Resource", "Condition"}
#: Stands for the absent Resource element of repository-policy statements.
_NO_RESOURCE = ""
#: Longest value a token can take when deployed: partitions, account IDs, Region names.
_TOKEN_LENGTHS = {
    "AWS.Partition": len("aws-us-gov"),
    "AWS.AccountId": 12,
    "AWS.Region": len("ap-southeast-5"),
    "AWS.URLSuffix": len("amazonaws.com.cn"),
}
#: Assumed length of any other token (an ARN attribute of a role defined in the app, say).
UNKNOWN_TOKEN_LENGTH = 128


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _single(values: list) -> Any:
    return values[0] if len(values) == 1 else values


class StatementSet:
    """Allow statements merged by principal, action and resource, plus statements kept as given.

    Merged statements, their principals and their resources are ordered by the values they deploy as, not by
    token strings (whose numbers depend on how many tokens the app made before), so that unrelated constructs
    never reorder a policy.

    Args:
        resolve: resolves a value with tokens (``Stack.resolve``), for the order. Default: - token strings
            as they are (their order may then change with unrelated constructs).
    """

    def __init__(self, resolve: Callable[[Any], Any] | None = None) -> None:
        self._kept: list[dict] = []
        # (condition JSON, principal type, principal value) -> resource -> actions
        self._grants: dict[tuple[str, str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._resolve = resolve
        self._keys: dict[str, str] = {}

    def add(self, statement: dict) -> None:
        """Adds one statement in IAM JSON form (as ``PolicyStatement.to_statement_json()`` gives it)."""
        principal = statement.get("Principal")
        if (
            statement.get("Effect") != "Allow"
            or not isinstance(principal, dict)
            or not set(statement) <= _MERGEABLE_KEYS
        ):
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

    def _order(self, text: str) -> str:
        """The sort key of a value given as JSON text: the JSON of what it resolves to, when it holds tokens whose
        numbers vary (pseudo parameters' do not). Remembered per text (the same resources recur per principal)."""
        key = self._keys.get(text)
        if key is None:
            resolve = self._resolve
            if resolve is not None and not all(name.startswith("AWS.") for name in TOKEN.findall(text)):
                key = json.dumps(resolve(json.loads(text)), sort_keys=True)
            else:
                key = text
            self._keys[text] = key
        return key

    def _ordered(self, values: list[str]) -> list[str]:
        return sorted(values, key=lambda value: self._order(json.dumps(value)))

    def statements(self) -> list[dict]:
        """Renders the statements: the kept ones first, then the merged grants in a stable order."""
        groups: dict[tuple[str, tuple[str, ...], tuple[str, ...]], dict[str, list[str]]] = {}
        for (condition, kind, value), by_resource in self._grants.items():
            resources_by_actions: dict[tuple[str, ...], list[str]] = defaultdict(list)
            for resource, action_set in by_resource.items():
                resources_by_actions[tuple(sorted(action_set))].append(resource)
            for actions, resource_list in resources_by_actions.items():
                principals = groups.setdefault((condition, actions, tuple(self._ordered(resource_list))), {})
                principals.setdefault(kind, []).append(value)

        def group_order(key: tuple[str, tuple[str, ...], tuple[str, ...]]) -> tuple[str, tuple[str, ...], str]:
            condition, actions, resources = key
            return self._order(condition), actions, self._order(json.dumps(list(resources)))

        merged = []
        for (condition, actions, resources), principals in sorted(groups.items(), key=lambda g: group_order(g[0])):
            statement: dict[str, Any] = {
                "Effect": "Allow",
                "Principal": {kind: _single(self._ordered(values)) for kind, values in sorted(principals.items())},
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


@dataclass(frozen=True)
class Built:
    """What the library knows of a statement it built, which CDK renders with tokens of its own.

    Attributes:
        token: the list token given as the statement's resources.
        resources: the resources it stands for.
        principal: the ``Principal`` element its single principal deploys as, when known in Python (an account
            principal, which CDK renders as a token per instance). Default: - as CDK renders it.
    """

    token: list[str]
    resources: list[str]
    principal: dict[str, str] | None = None


class LiveStatements:
    """The statements of a resource policy, kept as the ``PolicyStatement`` objects they were added as.

    They are read when the policy is rendered, so a condition added to a statement after the grant
    counts. A statement whose resources were given as one list token (to cross jsii once) is rendered with
    the resources it stands for, so that statements merge by resource. All statements are read, and
    checked, in one call into jsii each (through an ``iam.PolicyDocument`` that holds them), not one per
    statement. The render is remembered once the policy is validated, so that synth reads them once more
    at most.

    Args:
        with_resources: the statements carry resources (a registry policy), and are checked
            with CDK's ``validate_for_resource_policy``; otherwise (a repository policy, whose statements
            have no resources) each needs a principal and an action.
        resolve: resolves values with tokens, to order merged statements by what they deploy as
            (see :class:`StatementSet`). Default: - by token strings.
    """

    def __init__(self, *, with_resources: bool = True, resolve: Callable[[Any], Any] | None = None) -> None:
        self._with_resources = with_resources
        self._resolve = resolve
        self._live: list[tuple[iam.PolicyStatement, Built | None]] = []
        self._given: list[dict] = []
        self._frozen: tuple[int, dict] | None = None

    @property
    def is_empty(self) -> bool:
        """Tells whether no statement was added."""
        return not self._live and not self._given

    def add(self, statement: iam.PolicyStatement, built: Built | None = None) -> None:
        """Adds a statement, read at render time.

        Args:
            statement: the statement.
            built: what the library knows of a statement it built, with a principal, actions and resources.
                Default: - none (a statement of the user's, checked with CDK's validation).
        """
        self._live.append((statement, built))

    def take_all(self) -> list[iam.PolicyStatement]:
        """Removes and returns the statements added as objects (for a policy that replaces this one)."""
        taken = [statement for statement, _ in self._live]
        self._live = []
        return taken

    def add_json(self, statement: dict) -> None:
        """Adds a statement given as IAM JSON (a carried-over policy)."""
        self._given.append(statement)

    def _rendered(self) -> list[dict]:
        """The statements' IAM JSON as they are now, in the order added."""
        if not self._live:
            return []
        from aws_cdk import aws_iam as iam

        rendered = []
        document = iam.PolicyDocument(statements=[statement for statement, _ in self._live]).to_json()
        for current, (_, built) in zip(document["Statement"], self._live, strict=True):
            if built is not None:
                if _as_list(current.get("Resource")) == built.token:
                    current = {**current, "Resource": built.resources}
                principal = current.get("Principal")
                if built.principal is not None and isinstance(principal, dict) and list(principal) == ["AWS"]:
                    if isinstance(principal["AWS"], str):  # still its one principal (none was added since)
                        current = {**current, "Principal": built.principal}
            rendered.append(current)
        return rendered

    def _merged(self, rendered: list[dict]) -> dict:
        merged = StatementSet(self._resolve)
        for statement in self._given + rendered:
            merged.add(statement)
        return merged.document()

    def document(self) -> dict:
        """Renders the policy document, merged."""
        size = len(self._live) + len(self._given)
        if self._frozen is not None and self._frozen[0] == size:
            return self._frozen[1]
        return self._merged(self._rendered())

    def errors_for_resource_policy(self) -> list[str]:
        """CDK's checks of the statements (each needs a principal...), then remembers the render for synth."""
        from aws_cdk import aws_iam as iam

        errors: list[str] = []
        rendered = self._rendered()
        if self._with_resources:
            # the library's own statements have a principal, actions and resources
            own = [statement for statement, built in self._live if built is None]
            if own:
                errors += iam.PolicyDocument(statements=own).validate_for_resource_policy()
        elif self._live:
            errors += iam.PolicyDocument(
                statements=[statement for statement, _ in self._live]
            ).validate_for_any_policy()
            errors += [
                "A PolicyStatement used in a repository policy must specify at least one IAM principal."
                for statement in rendered
                if not statement.get("Principal")
            ]
        self._frozen = (len(self._live) + len(self._given), self._merged(rendered))
        return errors


def deployed_length(document: dict) -> int:
    """Estimates the compact JSON length of ``document`` once deployed, tokens at their longest."""
    text = json.dumps(document, separators=(",", ":"))
    return sum(len(part) for part in TOKEN.split(text)[::2]) + sum(
        _TOKEN_LENGTHS.get(name, UNKNOWN_TOKEN_LENGTH) for name in TOKEN.findall(text)
    )


#: Condition keys that limit a ``*`` principal to named accounts or organizations.
_PRINCIPAL_LIMITS = ("aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount")
#: Condition keys that limit a service principal to requests made for named accounts or resources.
_SOURCE_LIMITS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths")
#: Operators under which a condition key must be present and equal to a listed value.
_POSITIVE_OPERATORS = {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"}
#: An ``aws:PrincipalOrgPaths``/``aws:SourceOrgPaths`` value that names its organization before any wildcard.
_ORG_PATH = re.compile(r"^o-[a-z0-9]{10,32}/")
_WILDCARD = re.compile(r"[*?]")


def open_access_problems(document: dict, policy: str, resolve: Callable[[Any], Any] = lambda value: value) -> list[str]:
    """What in ``document`` (a resource policy) lets in principals beyond those named, or that ECR does not
    accept, one message per statement in the library's format (``problem: got <value>. <fix>``); the caller's
    validation adds the construct path.

    Rejected: ``NotPrincipal`` in an Allow statement; a ``*`` principal without an exact, positive limit on
    ``aws:PrincipalOrgID``, ``aws:PrincipalOrgPaths`` or ``aws:PrincipalAccount``; a service principal without
    one on ``aws:SourceAccount``, ``aws:SourceArn``, ``aws:SourceOrgID`` or ``aws:SourceOrgPaths``; a principal
    ARN with a wildcard (``arn:aws:iam::*:root``), which IAM does not accept; and ``Federated`` principals
    (identity providers), which IAM names in role trust policies ([UNVERIFIED] whether ECR rejects such a policy
    or never matches it). Token values are taken as limits (they are unknown at synth).

    Args:
        document: the policy document.
        policy: what the policy is, for the messages (``registry policy``, ``repository policy``).
        resolve: shows a statement as deployed (``Stack.resolve``), for the messages. Default: - as given.
    """
    return [
        f"the {policy} {problem}: got {json.dumps(resolve(value), sort_keys=True)}. {fix}"
        for statement in _as_list(document.get("Statement", []))
        if isinstance(statement, dict)
        for problem, value, fix in statement_problems(statement)
    ]


def statement_problems(statement: dict) -> list[tuple[str, dict, str]]:
    """The ``(problem, value, fix)`` of each way ``statement`` lets in principals beyond those it names."""
    value = {key: statement[key] for key in ("Sid", "Principal", "NotPrincipal", "Condition") if key in statement}
    principal = statement.get("Principal")
    kinds = {"AWS": [principal]} if isinstance(principal, str) else principal if isinstance(principal, dict) else {}
    problems = []
    if "Federated" in kinds:
        problems.append(
            (
                "names a federated principal (an identity provider), which ECR does not accept in a resource policy",
                value,
                "Grant the role that the federated users assume (assumed_by=iam.WebIdentityPrincipal(...) or "
                "iam.SamlPrincipal(...)) instead.",
            )
        )
    if any(
        isinstance(arn, str) and arn != "*" and _WILDCARD.search(TOKEN.sub("", arn))
        for arn in _as_list(kinds.get("AWS", []))
    ):
        problems.append(
            (
                "names a principal ARN with a wildcard, which IAM does not accept (a wildcard cannot match part of "
                "a principal)",
                value,
                "Name the accounts or roles exactly, or use '*' with an exact aws:PrincipalOrgID condition.",
            )
        )
    if statement.get("Effect") != "Allow":
        return problems
    condition = statement.get("Condition")
    if "NotPrincipal" in statement:
        problems.append(
            (
                "has an Allow statement with NotPrincipal, which allows every principal it does not list",
                value,
                "Name the principals to allow with Principal, or make the statement a Deny.",
            )
        )
    if "*" in [item for values in kinds.values() for item in _as_list(values)] and not _limits(
        condition, _PRINCIPAL_LIMITS
    ):
        problems.append(
            (
                "would allow any AWS account",
                value,
                "Limit '*' with an exact aws:PrincipalOrgID, aws:PrincipalOrgPaths or aws:PrincipalAccount "
                "condition (StringEquals; no wildcard, negation, IfExists or Null), as iam.OrganizationPrincipal "
                "does, or name the accounts.",
            )
        )
    if "Service" in kinds and not _limits(condition, _SOURCE_LIMITS):
        problems.append(
            (
                "lets a service principal act for any account",
                value,
                "Add an exact aws:SourceAccount (or aws:SourceArn) condition, or grant with grant_pull(...), "
                "which adds it.",
            )
        )
    return problems


def _limits(condition: object, keys: tuple[str, ...]) -> bool:
    """Tells whether ``condition`` requires one of ``keys`` to be present and equal to a named value: a positive
    operator (``ForAnyValue:`` allowed; not ``ForAllValues:``, which holds when the key is absent, nor
    ``...IfExists``, negations or ``Null``) whose values hold no wildcard (an organization path may end in one
    after its organization ID). An unresolved condition counts (it is unknown at synth)."""
    if not isinstance(condition, dict):
        return condition is not None  # a token: unknown, skipped
    for operator, entries in condition.items():
        base = operator.lower().removeprefix("foranyvalue:")
        if base not in _POSITIVE_OPERATORS or not isinstance(entries, dict):
            continue
        for key, values in entries.items():
            if key.lower() in keys and _exact(key.lower(), _as_list(values)):
                return True
    return False


def _exact(key: str, values: list) -> bool:
    """Tells whether every value of a condition names one account, organization or resource (tokens and
    CloudFormation functions count: they are unknown at synth)."""
    for value in values:
        if not isinstance(value, str):
            continue
        literal = TOKEN.sub("", value)
        wildcard = _WILDCARD.search(literal)
        if wildcard is None or value != literal:
            continue
        if not (key.endswith("orgpaths") and _ORG_PATH.match(literal[: wildcard.start()])):
            return False
    return bool(values)
