"""Builds the report data (the JSON document described by ``schema.json``) from a cloud assembly's stacks."""

from typing import Any

from .access import first_pull
from .assembly import StackArtifact
from .evaluate import Statement
from .intrinsics import Env, Resolver
from .principals import Principal, policy_principals, template_principals
from .resources import (
    PROBE,
    CreationTemplate,
    effective_template,
    read_registry_policy,
    read_rules,
    read_templates,
)

#: Bumped when a field is removed or changes meaning; adding fields keeps the version.
SCHEMA_VERSION = 1

ASSUMPTIONS = (
    f"Each rule is checked with a first pull of a new cache repository '<prefix>/{PROBE}'.",
    "The registry policy is assumed to use scope V2, so it can grant every ECR action.",
    "Only StringEquals/StringLike on aws:PrincipalOrgID and aws:PrincipalAccount are evaluated; "
    "other conditions count as not allowed.",
)


def build_report(stacks: list[StackArtifact]) -> dict[str, Any]:
    """The whole report for ``stacks``, as plain JSON-ready data."""
    return {
        "version": SCHEMA_VERSION,
        "assumptions": list(ASSUMPTIONS),
        "stacks": [stack_report(stack) for stack in stacks],
    }


def stack_report(stack: StackArtifact) -> dict[str, Any]:
    """The report of one stack: rules, creation templates, principals and the first-pull matrix."""
    env = Env.parse(stack.environment)
    resolver = Resolver(stack.template, env)
    rules = read_rules(stack.template, resolver)
    templates = read_templates(stack.template, resolver)
    registry, notes = read_registry_policy(stack.template, resolver)
    for rule in rules:
        rule.template = effective_template(templates, rule.repository_name)
        if rule.template is not None:
            rule.template.rules.append(rule.display["ecr_repository_prefix"] or rule.logical_id)
    principals = _principals(stack.template, resolver, registry, templates)
    return {
        "name": stack.name,
        "environment": stack.environment,
        "account": env.account if env.account_known else None,
        "region": env.region if env.region_known else None,
        "rules": [rule.to_json(env) for rule in rules],
        "templates": [template.to_json() for template in templates],
        "principals": [principal.to_json() for principal in principals],
        "access": [first_pull(principal, rule, registry, env) for principal in principals for rule in rules],
        "notes": notes,
    }


def _principals(
    template: dict[str, Any], resolver: Resolver, registry: list[Statement], templates: list[CreationTemplate]
) -> list[Principal]:
    """Template principals first, then those only resource policies name, each once."""
    principals = template_principals(template, resolver)
    known = {p.who.arn for p in principals if p.who.arn}
    names = {p.name for p in principals}
    policies = [registry] + [t.repository_policy for t in templates if t.repository_policy]
    for statements in policies:
        for principal in policy_principals(statements, known, resolver.env):
            if principal.name not in names:
                names.add(principal.name)
                principals.append(principal)
    return principals
