"""Builds the report data (the JSON document described by ``schema.json``) from a cloud assembly's stacks.

The whole assembly is evaluated at once: stacks of one account and Region share a registry (its
rules, creation templates and registry policy), and every role and user of the assembly is related
to every registry, in its own account or another one.
"""

from typing import Any

from .access import Side, first_pull, same_account, upstream_pull
from .assembly import StackArtifact
from .evaluate import Statement, Who, evaluate
from .intrinsics import UNKNOWN_ACCOUNT, Env, Resolver
from .model import AUTH_TOKEN, FIRST_PULL, PROBE, SCOPE_V1, SCOPE_V2, TAG_RESOURCE, V1_REGISTRY_ACTIONS
from .principals import Principal, managed_policies, policy_principals, template_principals
from .resources import (
    Registry,
    effective_template,
    read_registry_policy,
    read_rules,
    read_templates,
)

#: Bumped when a field is removed or changes meaning; adding fields keeps the version.
#: 2: the report is per registry of the whole assembly (``registries``), not per stack.
SCHEMA_VERSION = 2

ASSUMPTIONS = (
    f"Each rule is checked with a first pull of a new cache repository '<prefix>/{PROBE}'.",
    "A registry policy is judged by its cdk-ecr-ptc:registryPolicyScope metadata, and as scope V1 "
    "without it: V1 enforces only ecr:BatchImportUpstreamImage, ecr:CreateRepository and ecr:ReplicateImage.",
    "A creation template's repository policy counts for the pull actions of the first pull [UNVERIFIED].",
    "Only StringEquals/StringLike on aws:PrincipalOrgID and aws:PrincipalAccount are evaluated; "
    "other conditions count as not allowed (and as denying, on a Deny).",
    "Identity policies of accounts outside the assembly are not known: such access is marked "
    "'identity outside the assembly'.",
)


def build_report(
    stacks: list[StackArtifact], *, all_principals: bool = False, registry_scope: str | None = None
) -> dict[str, Any]:
    """The whole report for ``stacks``, as plain JSON-ready data.

    Args:
        stacks: every stack of the assembly.
        all_principals: list every role and user in each registry's matrix. Default: - only those
            with an ECR permission on the registry or named in its resource policies.
        registry_scope: judge every registry policy as ``"V1"`` or ``"V2"``. Default: - its
            ``cdk-ecr-ptc:registryPolicyScope`` metadata, else V1.
    """
    registries, principals = _read(stacks)
    known = {p.who.arn for p in principals if p.who.arn}
    external: dict[str, Principal] = {}
    out = []
    for registry in registries.values():
        if not (registry.rules or registry.templates or registry.policy.sources or registry.notes):
            continue
        _prepare(registry, registry_scope)
        named = _named(registry, known, external)
        related = [p for p in principals if not p.not_puller and _relevant(p, registry, named)]
        related += [external[name] for name in named if name in external]
        for principal in related:
            principal.registries.append(registry.key)
        rows = related if not all_principals else principals + [p for p in related if not p.in_assembly]
        registry_json = _registry_json(registry, registry_scope)
        registry_json["principals"] = [p.name for p in rows]
        registry_json["access"] = [first_pull(p, rule, registry) for p in rows for rule in registry.rules]
        out.append(registry_json)
    shown = {name for r in out for name in r["principals"]}
    return {
        "version": SCHEMA_VERSION,
        "assumptions": list(ASSUMPTIONS),
        "stacks": [_stack_json(stack) for stack in stacks],
        "registries": out,
        "principals": [p.to_json() for p in principals + list(external.values())],
        "not_pullers": [p.name for p in principals if p.not_puller and p.name not in shown],
        "hidden": [p.name for p in principals if not p.not_puller and p.name not in shown],
        "upstream": _upstream(registries, principals),
        "changes": None,
    }


def _read(stacks: list[StackArtifact]) -> tuple[dict[str, Registry], list[Principal]]:
    """The registries (by key) and the roles and users of the assembly, boundaries looked up by ARN."""
    registries: dict[str, Registry] = {}
    principals: list[Principal] = []
    boundaries: dict[str, list[Statement]] = {}
    exports: dict[str, tuple[Resolver, Any]] = {}
    resolvers = [Resolver(stack.template, Env.parse(stack.environment), exports) for stack in stacks]
    for resolver in resolvers:
        resolver.add_exports()
    for stack, resolver in zip(stacks, resolvers, strict=True):
        env = resolver.env
        key = f"{env.account}/{env.region}" if env.account_known and env.region_known else f"stack {stack.name}"
        registry = registries.setdefault(key, Registry(key, env))
        registry.stacks.append(stack.name)
        registry.rules += read_rules(stack.template, resolver, stack.name)
        registry.templates += read_templates(stack.template, resolver)
        registry.notes += read_registry_policy(stack.template, resolver, registry.policy, stack.name)
        principals += template_principals(stack.template, resolver, stack.name)
        boundaries.update(managed_policies(stack.template, resolver))
    principals = _merge_by_arn(principals)
    _name_uniquely(principals)
    for principal in principals:
        if principal.boundary is None and principal.boundary_arn in boundaries:
            principal.boundary = boundaries[principal.boundary_arn]
    return registries, principals


def _merge_by_arn(principals: list[Principal]) -> list[Principal]:
    """One principal per ARN: the policies a stack attaches by name to a role or user that the assembly
    defines (or that another stack attaches to) join that principal. Environment-agnostic stacks share
    an ARN only within themselves."""
    by_arn = {p.who.arn: p for p in reversed(principals) if p.logical_id is not None and p.who.arn}
    kept = []
    for principal in principals:
        target = by_arn.get(principal.who.arn or "") if principal.logical_id is None else None
        if target is not None and (target.stack == principal.stack or principal.who.account != UNKNOWN_ACCOUNT):
            target.identity.extend(principal.identity)
            continue
        if principal.logical_id is None and principal.who.arn:
            by_arn[principal.who.arn] = principal
        kept.append(principal)
    return kept


def _name_uniquely(principals: list[Principal]) -> None:
    """Names each principal by logical ID (or name), ``<stack>/<logical ID>`` where two stacks share one."""
    counts: dict[str, int] = {}
    for principal in principals:
        counts[principal.name] = counts.get(principal.name, 0) + 1
    for principal in principals:
        if counts[principal.name] > 1:
            principal.name = f"{principal.stack}/{principal.logical_id or principal.name}"


def _prepare(registry: Registry, scope: str | None) -> None:
    if scope is not None:
        registry.policy.scope = scope
    for rule in registry.rules:
        rule.template = effective_template(registry.templates, rule.repository_name)
        if rule.template is not None:
            rule.template.rules.append(rule.name)


def _named(registry: Registry, known: set[str], external: dict[str, Principal]) -> list[str]:
    """Names of the principals the registry's resource policies name: assembly ones by ARN, and the
    others (added to ``external``, one per name across the assembly)."""
    names: list[str] = []
    for statements in registry.resource_policies():
        for statement in statements:
            if statement.body.get("Effect") != "Allow":
                continue
            spec = statement.body.get("Principal")
            values = spec.get("AWS", []) if isinstance(spec, dict) else spec
            names += [f"arn {v}" for v in (values if isinstance(values, list) else [values]) if str(v) in known]
        for principal in policy_principals(statements, known, registry.env):
            external.setdefault(principal.name, principal)
            names.append(principal.name)
    return list(dict.fromkeys(names))


def _relevant(principal: Principal, registry: Registry, named: list[str]) -> bool:
    """Whether the principal holds an ECR permission on the registry, or a resource policy names it."""
    if f"arn {principal.who.arn}" in named:
        return True
    for rule in registry.rules:
        arn = rule.repository_arn(registry.env)
        if any(evaluate(principal.identity, a, arn, principal.who).allowed for a in (*FIRST_PULL[1:], TAG_RESOURCE)):
            return True
    side = Side(registry.env.account, registry.env.account_known, tuple(registry.stacks), registry.policy)
    return same_account(principal, side) and evaluate(principal.identity, AUTH_TOKEN, "*", principal.who).allowed


def _upstream(registries: dict[str, Registry], principals: list[Principal]) -> list[dict[str, Any]]:
    """The ECR-to-ECR rules' roles against their upstream registries."""
    by_arn = {p.who.arn: p for p in principals if p.who.arn}
    entries = []
    for registry in registries.values():
        for rule in registry.rules:
            if rule.upstream_registry is None or rule.custom_role_arn is None:
                continue
            role = by_arn.get(rule.custom_role_arn) or Principal(
                rule.custom_role_arn, "arn", Who(rule.custom_role_arn, registry.env.account), f"rule {rule.name}"
            )
            account, region = rule.upstream_registry
            entries.append(upstream_pull(role, rule, registries.get(f"{account}/{region}")))
    return entries


def _beyond_v1(statements: list[Statement]) -> list[str]:
    """The actions (without wildcards) of the statements that scope V1 does not accept."""
    found: dict[str, None] = {}
    for statement in statements:
        actions = statement.body.get("Action", [])
        for action in map(str, actions if isinstance(actions, list) else [actions]):
            if "*" not in action and "?" not in action and action.lower() not in _V1_LOWER:
                found[action] = None
    return list(found)


_V1_LOWER = {action.lower() for action in V1_REGISTRY_ACTIONS}


def _stack_json(stack: StackArtifact) -> dict[str, Any]:
    env = Env.parse(stack.environment)
    return {
        "name": stack.name,
        "environment": stack.environment,
        "account": env.account if env.account_known else None,
        "region": env.region if env.region_known else None,
    }


def _registry_json(registry: Registry, scope: str | None) -> dict[str, Any]:
    env = registry.env
    policy = registry.policy
    notes = list(registry.notes)
    if len(policy.sources) > 1:
        notes.insert(
            0,
            f"{len(policy.sources)} registry policies ({', '.join(policy.sources)}): a registry keeps only "
            "one, so deploying fails",
        )
    source = "option" if scope is not None else "metadata" if policy.scope_known else "default"
    if source == "default" and policy.statements:
        notes.append(
            f"the registry policy carries no cdk-ecr-ptc:registryPolicyScope metadata: judged as scope {SCOPE_V1} "
            f"(run with --registry-policy-scope {SCOPE_V2} if the account is on V2)"
        )
    beyond = _beyond_v1(policy.statements)
    if policy.scope == SCOPE_V1 and beyond:
        notes.append(
            f"the registry policy names {', '.join(beyond)}, which a registry on scope {SCOPE_V1} rejects: "
            "deploying it fails there"
        )
    return {
        "key": registry.key,
        "account": env.account if env.account_known else None,
        "region": env.region if env.region_known else None,
        "stacks": list(registry.stacks),
        "registry_policy_scope": policy.scope,
        "registry_policy_scope_source": source,
        "rules": [rule.to_json(env) for rule in registry.rules],
        "templates": [template.to_json() for template in registry.templates],
        "notes": notes,
    }
