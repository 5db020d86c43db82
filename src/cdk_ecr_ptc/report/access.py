"""Decides whether a principal can make the *first* pull of an image through a rule (FACTS §6.2, §6.3).

A first pull creates the cache repository, so it needs ``ecr:GetAuthorizationToken`` (identity
policy only), then on the probe repository ``ecr:BatchGetImage``, ``ecr:GetDownloadUrlForLayer``,
``ecr:BatchImportUpstreamImage`` and ``ecr:CreateRepository``, and ``ecr:TagResource`` when the
creation template that applies tags the repository.

Where each can be granted:

- the identity side: the principal's identity policies, limited by its permissions boundary;
- the registry policy: every action on scope V2; on scope V1 only ``ecr:BatchImportUpstreamImage``,
  ``ecr:CreateRepository`` and ``ecr:ReplicateImage`` (other statements are not enforced);
- the repository policy of the applying creation template: the pull actions only (``CreateRepository``
  and ``TagResource`` are authorized before the repository exists). [UNVERIFIED: that ECR applies the
  template's policy in time for the pull that creates the repository; FACTS §0 renders it so.]

An explicit Deny in any policy the report reads wins. A principal of the registry's own account needs
each action from one side; a principal of another account needs both; a principal outside the
assembly has its identity side outside the assembly, which the report marks instead of judging.
Within an account, a permissions boundary also limits what a resource policy grants to a role (not
to a user named by ARN).
"""

from dataclasses import dataclass
from typing import Any

from .evaluate import Statement, Verdict, evaluate
from .model import (
    AUTH_TOKEN,
    DOWNSTREAM_CACHE,
    REPOSITORY_POLICY_ACTIONS,
    SCOPE_V2,
    V1_REGISTRY_ACTIONS,
    first_pull_actions,
    probe_repository,
    repository_arn,
)
from .principals import Principal
from .resources import CreationTemplate, Registry, RegistryPolicy, Rule

IDENTITY = "identity"
REGISTRY = "registry policy"
REPOSITORY = "repository policy"
BOUNDARY = "boundary"
DENY = "explicit deny"
#: The side a cell names when several block: the first of these.
BLOCKING_ORDER = (DENY, BOUNDARY, IDENTITY, REGISTRY, REPOSITORY)


@dataclass(frozen=True)
class Side:
    """Where a request is evaluated: the resource policies that apply and whose account owns them.

    ``policy`` is None when the registry is not in the assembly (its side is then outside it).
    """

    account: str
    account_known: bool
    stacks: tuple[str, ...]
    policy: RegistryPolicy | None
    template: CreationTemplate | None = None


def same_account(principal: Principal, side: Side) -> bool:
    """Whether the principal is in the account that owns the resource.

    Environment-agnostic stacks share an account only with themselves: a principal of a known
    account counts as another account (both sides needed), the safe answer for a template that may
    be deployed anywhere.
    """
    if principal.in_assembly and principal.stack in side.stacks:
        return True
    if principal.kind in ("organization", "anyone", "service"):
        return False
    return side.account_known and principal.who.account == side.account


def first_pull(principal: Principal, rule: Rule, registry: Registry) -> dict[str, Any]:
    """The access entry of the report for one principal and one rule."""
    side = Side(
        registry.env.account, registry.env.account_known, tuple(registry.stacks), registry.policy, rule.template
    )
    tagged = rule.template is not None and rule.template.has_tags
    entry = _judge(principal, first_pull_actions(tagged), rule.repository_arn(registry.env), side)
    return {"principal": principal.name, "rule": rule.name, "registry": registry.key, **entry}


def upstream_pull(role: Principal, rule: Rule, upstream: Registry | None) -> dict[str, Any]:
    """Whether an ECR-to-ECR rule's role may pull from its upstream registry (FACTS §6.4, §6.5)."""
    account, region = rule.upstream_registry or ("", "")
    side = Side(
        account,
        True,
        tuple(upstream.stacks) if upstream else (),
        upstream.policy if upstream else None,
    )
    resource = repository_arn(account, region, probe_repository(rule.upstream_prefix))
    entry = _judge(role, (AUTH_TOKEN, *DOWNSTREAM_CACHE), resource, side)
    return {
        "rule": rule.name,
        "stack": rule.stack,
        "role": role.name,
        "upstream": f"{account}/{region}",
        "upstream_in_assembly": upstream is not None,
        **entry,
    }


def _judge(principal: Principal, actions: tuple[str, ...], resource: str, side: Side) -> dict[str, Any]:
    missing: list[dict[str, Any]] = []
    outside: list[str] = []
    for action in actions:
        _check(principal, action, "*" if action == AUTH_TOKEN else resource, side, missing, outside)
    sides = {item["side"] for item in missing}
    return {
        "allowed": not missing,
        "blocking": next((s for s in BLOCKING_ORDER if s in sides), None),
        "missing": missing,
        "identity_outside": outside,
    }


def _check(
    principal: Principal, action: str, resource: str, side: Side, missing: list[dict[str, Any]], outside: list[str]
) -> None:
    """Appends to ``missing`` (or ``outside``) what stops ``principal`` calling ``action`` on ``resource``."""
    who = principal.who
    denied: list[str] = []
    unknown: list[str] = []

    def run(statements: list[Statement], home: str | None) -> Verdict:
        verdict = evaluate(statements, action, resource, who, home_account=home)
        denied.extend(verdict.denied_by)
        unknown.extend(verdict.unknown)
        return verdict

    identity_ok = boundary_ok = False
    boundary_reasons: list[str] = []
    if principal.in_assembly:
        identity_ok = run(principal.identity, None).allowed
        if principal.boundary is not None:
            boundary_ok = run(principal.boundary, None).allowed
        elif principal.boundary_arn is not None:
            boundary_reasons = [
                f"permissions boundary {principal.boundary_arn} is not in the assembly: counted as allowing nothing"
            ]
        else:
            boundary_ok = True
    resource_ok, resource_side, resource_reasons = False, REGISTRY, []
    if action != AUTH_TOKEN and side.policy is not None:
        v2 = side.policy.scope == SCOPE_V2
        if v2 or action in V1_REGISTRY_ACTIONS:
            resource_ok = run(side.policy.statements, side.account).allowed
        elif side.policy.statements:
            resource_reasons = [f"a registry policy on scope V1 does not grant {action}"]
        template = side.template
        if action in REPOSITORY_POLICY_ACTIONS and template is not None and template.repository_policy:
            resource_ok = run(template.repository_policy, side.account).allowed or resource_ok
        if action in REPOSITORY_POLICY_ACTIONS and not v2:
            resource_side = REPOSITORY
    if denied:
        missing.append(_missing(action, DENY, denied))
        return
    same = same_account(principal, side)
    if principal.kind == "service":  # no identity side, and no token to get
        if action != AUTH_TOKEN and not resource_ok:
            missing.append(_missing(action, resource_side, resource_reasons + unknown))
        return
    if not principal.in_assembly:
        if action == AUTH_TOKEN or side.policy is None or (resource_ok and not same):
            outside.append(action)
        elif not resource_ok:
            missing.append(_missing(action, resource_side, resource_reasons + unknown))
        return
    if action == AUTH_TOKEN or not same:
        if not identity_ok:
            missing.append(_missing(action, IDENTITY, unknown))
        elif not boundary_ok:
            missing.append(_missing(action, BOUNDARY, boundary_reasons))
        elif action != AUTH_TOKEN and side.policy is None:
            outside.append(action)
        elif action != AUTH_TOKEN and not resource_ok:
            missing.append(_missing(action, resource_side, resource_reasons + unknown))
        return
    if not (identity_ok or resource_ok):
        missing.append(_missing(action, IDENTITY, unknown))
    elif not boundary_ok and not (principal.kind == "user" and resource_ok):
        missing.append(_missing(action, BOUNDARY, boundary_reasons))


def _missing(action: str, side: str, reasons: list[str]) -> dict[str, Any]:
    """A ``missing`` item; ``reasons`` name the denying statements, or Allows that were not counted."""
    return {"action": action, "side": side, "denied": side == DENY, "reasons": list(dict.fromkeys(reasons))}
