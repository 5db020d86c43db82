"""Decides whether a principal can make the *first* pull of an image through a rule (FACTS §6.2, §6.3).

A first pull creates the cache repository, so it needs ``ecr:GetAuthorizationToken`` (identity
policy only), then on the probe repository ``ecr:BatchGetImage``, ``ecr:GetDownloadUrlForLayer``,
``ecr:BatchImportUpstreamImage`` and ``ecr:CreateRepository``, and ``ecr:TagResource`` when the
creation template that applies tags the repository.

Where each can be granted: the pull actions by an identity policy, the registry policy (scope V2
assumed) or the repository policy of the applying creation template; ``CreateRepository`` and
``TagResource`` only by an identity policy or the registry policy. An explicit Deny on any side wins.

A principal of the template (same account) needs each action from one side. A principal from
elsewhere needs the resource side; its identity side is outside the template and is reported as
such. Cross-account principals (another known account, an organization, anyone) need both sides.
"""

from typing import Any

from .evaluate import Statement, evaluate
from .intrinsics import UNKNOWN_ACCOUNT, Env
from .principals import Principal
from .resources import CreationTemplate, Rule

AUTH_TOKEN = "ecr:GetAuthorizationToken"
CREATE_REPOSITORY = "ecr:CreateRepository"
TAG_RESOURCE = "ecr:TagResource"
FIRST_PULL = (
    AUTH_TOKEN,
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchImportUpstreamImage",
    CREATE_REPOSITORY,
)

IDENTITY = "identity"
REGISTRY = "registry policy"
REPOSITORY = "repository policy"
IDENTITY_OUTSIDE = "identity (outside this template)"

_SIDES = {
    AUTH_TOKEN: (IDENTITY,),
    CREATE_REPOSITORY: (REGISTRY, IDENTITY),
    TAG_RESOURCE: (REGISTRY, IDENTITY),
}
_PULL_SIDES = (IDENTITY, REGISTRY, REPOSITORY)


def required_actions(template: CreationTemplate | None) -> list[str]:
    """The actions a first pull needs when ``template`` is the creation template that applies."""
    return list(FIRST_PULL) + ([TAG_RESOURCE] if template is not None and template.has_tags else [])


def is_cross_account(principal: Principal, env: Env) -> bool:
    """Whether the principal is in another account.

    A principal of a known account in a stack of unknown account counts as another account (both
    sides needed), the safe answer for a template that may be deployed anywhere.
    """
    if principal.in_template:
        return False
    if principal.kind in ("organization", "anyone"):
        return True
    account = principal.who.account
    return account not in (None, UNKNOWN_ACCOUNT) and (not env.account_known or account != env.account)


def first_pull(principal: Principal, rule: Rule, registry: list[Statement], env: Env) -> dict[str, Any]:
    """The access entry of the report for one principal and one rule."""
    template = rule.template
    repository_arn = rule.repository_arn(env)
    cross = is_cross_account(principal, env)
    statements = {
        IDENTITY: principal.identity,
        REGISTRY: registry,
        REPOSITORY: (template.repository_policy if template else None) or [],
    }
    missing: list[dict[str, Any]] = []
    outside: list[str] = []
    for action in required_actions(template):
        sides = _SIDES.get(action, _PULL_SIDES)
        checked = [side for side in sides if side != IDENTITY or principal.in_template]
        resource = "*" if action == AUTH_TOKEN else repository_arn
        verdicts = {
            side: evaluate(
                statements[side],
                action,
                resource,
                principal.who,
                home_account=None if side == IDENTITY else env.account,
            )
            for side in checked
        }
        denied = [side for side in checked if verdicts[side].denied]
        if denied:
            labels = [label for side in denied for label in verdicts[side].denied_by]
            missing.append(_missing(action, " and ".join(denied), True, labels))
            continue
        if not principal.in_template and (cross or not checked):
            outside.append(action)
        if not checked or any(verdict.allowed for verdict in verdicts.values()):
            continue
        alternatives = list(checked) + (
            [IDENTITY_OUTSIDE] if IDENTITY in sides and not cross and not principal.in_template else []
        )
        unknown = [note for verdict in verdicts.values() for note in verdict.unknown]
        missing.append(_missing(action, _either(alternatives), False, unknown))
    return {
        "principal": principal.name,
        "rule": rule.display["ecr_repository_prefix"] or rule.logical_id,
        "allowed": not missing,
        "missing": missing,
        "identity_outside": outside,
    }


def _missing(action: str, side: str, denied: bool, reasons: list[str]) -> dict[str, Any]:
    """A ``missing`` item; ``reasons`` name the denying statements, or Allows whose condition was unknown."""
    return {"action": action, "side": side, "denied": denied, "reasons": reasons}


def _either(sides: list[str]) -> str:
    return sides[0] if len(sides) == 1 else ", ".join(sides[:-1]) + " or " + sides[-1]
