"""Finds the principals of a template and the identity statements that apply to each.

Template principals are the ``AWS::IAM::Role`` and ``AWS::IAM::User`` resources, named by logical ID.
Their statements come from inline ``Policies``, ``AWS::IAM::Policy``/``ManagedPolicy`` resources
attached through ``Roles``/``Users``/``Groups``, group membership, and ``ManagedPolicyArns`` (template
managed policies, or the ECR AWS managed policies by their known actions). External principals are
the ones named in resource policies (registry policy, creation templates' repository policies).
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .evaluate import Statement, Who, account_of_root
from .intrinsics import Env, Resolver

_READ_ONLY = (
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:GetRepositoryPolicy",
    "ecr:DescribeRepositories",
    "ecr:ListImages",
    "ecr:DescribeImages",
    "ecr:BatchGetImage",
    "ecr:GetLifecyclePolicy",
    "ecr:GetLifecyclePolicyPreview",
    "ecr:ListTagsForResource",
    "ecr:DescribeImageScanFindings",
)

#: The ECR actions of the AWS managed policies the report knows, all on ``Resource: "*"``.
AWS_MANAGED_ECR = {
    "AmazonEC2ContainerRegistryReadOnly": _READ_ONLY,
    "AmazonEC2ContainerRegistryPullOnly": (
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "ecr:BatchImportUpstreamImage",
    ),
    "AmazonEC2ContainerRegistryPowerUser": _READ_ONLY
    + ("ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"),
    "AmazonEC2ContainerRegistryFullAccess": ("ecr:*",),
}

_AWS_MANAGED_ARN = re.compile(r"^arn:[^:]+:iam::aws:policy/(?:.*/)?([^/]+)$")
_IAM_ARN = re.compile(r"^arn:[^:]+:iam::([^:]+):(?:role|user|assumed-role)/.+$")
_ORG_KEY = "aws:principalorgid"


#: Services that assume a role but never make a client pull through the cache: the creation-template
#: role (``ecr.amazonaws.com``), the ECR-to-ECR role (``pullthroughcache.ecr.amazonaws.com``, checked
#: against its upstream instead) and Lambda (which cannot pull images through a rule, FACTS §0).
NEVER_PULL_SERVICES = ("ecr.amazonaws.com", "pullthroughcache.ecr.amazonaws.com", "lambda.amazonaws.com")


@dataclass
class Principal:
    """Someone who might pull: a role or user of the assembly, or a principal named in a resource policy.

    ``stack`` is set for roles and users of the assembly (their identity policies are known); the
    others' identity side is outside the assembly. ``boundary`` holds the statements of a permissions
    boundary the assembly defines; ``boundary_arn`` names one (the assembly may not define it).
    """

    name: str
    kind: str
    who: Who
    source: str
    logical_id: str | None = None
    stack: str | None = None
    identity: list[Statement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    trusted_services: list[str] | None = None
    boundary_arn: str | None = None
    boundary: list[Statement] | None = None
    registries: list[str] = field(default_factory=list)

    @property
    def in_assembly(self) -> bool:
        """Whether the principal is a role or user of the assembly, so its identity policies are known."""
        return self.stack is not None

    @property
    def not_puller(self) -> bool:
        """Whether only services that never pull may assume it (see :data:`NEVER_PULL_SERVICES`)."""
        services = self.trusted_services
        return bool(services) and all(service in NEVER_PULL_SERVICES for service in services or [])

    def to_json(self) -> dict[str, Any]:
        """The principal as the report's JSON schema describes it."""
        return {
            "name": self.name,
            "kind": self.kind,
            "logical_id": self.logical_id,
            "stack": self.stack,
            "arn": self.who.arn,
            "account": self.who.account,
            "org_id": self.who.org_id,
            "service": self.who.service,
            "source": self.source,
            "boundary": self.boundary_arn,
            "not_puller": self.not_puller,
            "registries": list(self.registries),
            "notes": list(self.notes),
        }


def statements_of(document: dict[str, Any] | None, source: str) -> list[Statement]:
    """The statements of a policy document, each labelled with ``source`` and its position."""
    if not document:
        return []
    body = document.get("Statement", [])
    items = [s for s in (body if isinstance(body, list) else [body]) if isinstance(s, dict)]
    return [Statement(source, s, index) for index, s in enumerate(items, 1)]


def template_principals(template: dict[str, Any], resolver: Resolver, stack: str) -> list[Principal]:
    """The template's roles and users with every identity statement the template attaches to them."""
    resources: dict[str, Any] = template.get("Resources") or {}
    principals: dict[str, Principal] = {}
    groups: dict[str, tuple[list[Statement], list[str]]] = {}
    for logical_id, resource, props in _each(resources, "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
        own = _inline(props, logical_id, resolver)
        notes = _managed_arns(props, logical_id, resources, resolver, own)
        if resource["Type"] == "AWS::IAM::Group":
            groups[logical_id] = (own, [f"group {logical_id}: {note}" for note in notes])
            continue
        kind = "role" if resource["Type"] == "AWS::IAM::Role" else "user"
        principal = Principal(
            name=logical_id,
            kind=kind,
            who=Who(arn=resolver.iam_arn(logical_id), account=resolver.env.account),
            source=f"stack {stack}",
            logical_id=logical_id,
            stack=stack,
            identity=own,
            notes=notes,
            trusted_services=_trusted_services(props, resolver) if kind == "role" else None,
        )
        _read_boundary(principal, props.get("PermissionsBoundary"), resources, resolver)
        principals[logical_id] = principal
    members = _group_members(resources)
    for group, (statements, notes) in groups.items():
        for user in members.get(group, []):
            if user in principals:
                principals[user].identity.extend(statements)
                principals[user].notes.extend(notes)
    for logical_id, _resource, props in _each(resources, "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        statements = statements_of(resolver.json_document(props.get("PolicyDocument")), logical_id)
        targets = _refs(props.get("Roles")) + _refs(props.get("Users"))
        targets += [user for group in _refs(props.get("Groups")) for user in members.get(group, [])]
        for target in targets:
            if target in principals:
                principals[target].identity.extend(statements)
        for kind, key in (("role", "Roles"), ("user", "Users")):
            for name in _names_not_refs(props.get(key), resolver):
                arn = f"arn:{resolver.env.partition}:iam::{resolver.env.account}:{kind}/{name}"
                principal = principals.setdefault(
                    arn,
                    Principal(
                        name=name,
                        kind=kind,
                        who=Who(arn=arn, account=resolver.env.account),
                        source=f"stack {stack}",
                        stack=stack,
                        notes=["not defined in the assembly: only the policies it attaches are counted"],
                    ),
                )
                principal.identity.extend(statements)
    return list(principals.values())


def _names_not_refs(value: Any, resolver: Resolver) -> list[str]:
    """The role or user names of a policy's ``Roles``/``Users`` that are not ``Ref``s to the template's own."""
    items = value if isinstance(value, list) else []
    return [resolver.resolve(item) for item in items if not (isinstance(item, dict) and "Ref" in item)]


def managed_policies(template: dict[str, Any], resolver: Resolver) -> dict[str, list[Statement]]:
    """The statements of the template's named ``AWS::IAM::ManagedPolicy`` resources, by resolved ARN.

    Used to find a permissions boundary that another stack of the assembly defines.
    """
    found: dict[str, list[Statement]] = {}
    for logical_id, _resource, props in _each(template.get("Resources") or {}, "AWS::IAM::ManagedPolicy"):
        name = props.get("ManagedPolicyName")
        if name is None:
            continue
        path = props.get("Path", "/") if isinstance(props.get("Path", "/"), str) else "/"
        arn = f"arn:{resolver.env.partition}:iam::{resolver.env.account}:policy{path}{resolver.resolve(name)}"
        found[arn] = statements_of(resolver.json_document(props.get("PolicyDocument")), logical_id)
    return found


def _trusted_services(props: dict[str, Any], resolver: Resolver) -> list[str]:
    """The service principals of a role's trust policy; empty when anything else may assume it too."""
    document = resolver.json_document(props.get("AssumeRolePolicyDocument")) or {}
    services: list[str] = []
    for statement in statements_of(document, "trust"):
        if statement.body.get("Effect") != "Allow":
            continue
        spec = statement.body.get("Principal")
        if not isinstance(spec, dict) or set(spec) != {"Service"}:
            return []
        values = spec["Service"]
        services += [str(v) for v in (values if isinstance(values, list) else [values])]
    return services


def _read_boundary(principal: Principal, value: Any, resources: dict[str, Any], resolver: Resolver) -> None:
    """Sets the principal's permissions boundary: a managed policy of the template, a known AWS one, or
    only its ARN (``boundary`` stays None, and the assembly-wide pass looks it up)."""
    if value is None:
        return
    target = value.get("Ref") if isinstance(value, dict) else None
    if isinstance(target, str) and resources.get(target, {}).get("Type") == "AWS::IAM::ManagedPolicy":
        document = (resources[target].get("Properties") or {}).get("PolicyDocument")
        principal.boundary_arn = target
        principal.boundary = statements_of(resolver.json_document(document), f"permissions boundary {target}")
        return
    arn = resolver.resolve(value)
    principal.boundary_arn = arn
    match = _AWS_MANAGED_ARN.match(arn)
    actions = AWS_MANAGED_ECR.get(match.group(1)) if match else None
    if actions is not None:
        allow = {"Effect": "Allow", "Action": list(actions), "Resource": "*"}
        principal.boundary = [Statement(f"permissions boundary {arn}", allow)]


def _each(resources: dict[str, Any], *types: str) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for logical_id, resource in resources.items():
        if isinstance(resource, dict) and resource.get("Type") in types:
            yield logical_id, resource, resource.get("Properties") or {}


def _refs(value: Any) -> list[str]:
    """Logical IDs named by ``{"Ref": …}`` items of a list property."""
    items = value if isinstance(value, list) else []
    return [item["Ref"] for item in items if isinstance(item, dict) and isinstance(item.get("Ref"), str)]


def _inline(props: dict[str, Any], logical_id: str, resolver: Resolver) -> list[Statement]:
    statements: list[Statement] = []
    for policy in props.get("Policies") or []:
        name = policy.get("PolicyName") if isinstance(policy, dict) else None
        source = f"{logical_id} inline policy {name if isinstance(name, str) else ''}".rstrip()
        statements += statements_of(resolver.json_document(policy.get("PolicyDocument")), source)
    return statements


def _managed_arns(
    props: dict[str, Any],
    logical_id: str,
    resources: dict[str, Any],
    resolver: Resolver,
    into: list[Statement],
) -> list[str]:
    """Adds the statements of ``ManagedPolicyArns`` to ``into``; returns notes on unknown ones."""
    notes: list[str] = []
    for item in props.get("ManagedPolicyArns") or []:
        target = item.get("Ref") if isinstance(item, dict) else None
        if isinstance(target, str) and resources.get(target, {}).get("Type") == "AWS::IAM::ManagedPolicy":
            document = (resources[target].get("Properties") or {}).get("PolicyDocument")
            into.extend(statements_of(resolver.json_document(document), target))
            continue
        arn = resolver.resolve(item)
        match = _AWS_MANAGED_ARN.match(arn)
        actions = AWS_MANAGED_ECR.get(match.group(1)) if match else None
        if match and actions is not None:
            into.append(
                Statement(
                    f"AWS managed {match.group(1)}",
                    {"Effect": "Allow", "Action": list(actions), "Resource": "*"},
                )
            )
        else:
            notes.append(
                f"managed policy {resolver.display(item)} is not known to the report: counted as granting nothing"
            )
    return notes


def _group_members(resources: dict[str, Any]) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {}
    for logical_id, _resource, props in _each(resources, "AWS::IAM::User"):
        for group in _refs(props.get("Groups")):
            members.setdefault(group, []).append(logical_id)
    for _id, _resource, props in _each(resources, "AWS::IAM::UserToGroupAddition"):
        for group in _refs([props.get("GroupName")]):
            members.setdefault(group, []).extend(_refs(props.get("Users")))
    return members


def policy_principals(statements: list[Statement], known_arns: set[str], env: Env) -> list[Principal]:
    """The principals a resource policy allows, other than assembly principals and the home account root.

    ``*`` with an ``aws:PrincipalOrgID`` condition becomes one ``organization o-…`` principal per value;
    ``*`` without one becomes ``anyone (*)``; a ``Service`` principal becomes ``service <name>``.
    """
    found: dict[str, Principal] = {}
    for statement in statements:
        if statement.body.get("Effect") != "Allow":
            continue
        spec = statement.body.get("Principal")
        if isinstance(spec, dict):
            services = spec.get("Service", [])
            for service in map(str, services if isinstance(services, list) else [services]):
                name = f"service {service}"
                found.setdefault(name, Principal(name, "service", Who(None, None, service=service), statement.source))
        values = spec.get("AWS", []) if isinstance(spec, dict) else spec
        for value in map(str, values if isinstance(values, list) else [values] if values else []):
            for principal in _principals_for(value, statement, known_arns, env):
                found.setdefault(principal.name, principal)
    return list(found.values())


def _principals_for(value: str, statement: Statement, known_arns: set[str], env: Env) -> list[Principal]:
    if value == "*":
        orgs = _org_ids(statement.body.get("Condition"))
        if orgs:
            return [
                Principal(f"organization {org}", "organization", Who(None, None, org), statement.source) for org in orgs
            ]
        return [Principal("anyone (*)", "anyone", Who(None, None), statement.source)]
    account = account_of_root(value)
    if account is not None:
        if account == env.account:
            return []
        arn = value if value.startswith("arn:") else f"arn:{env.partition}:iam::{account}:root"
        return [Principal(f"account {account}", "account", Who(arn, account), statement.source)]
    if value in known_arns:
        return []
    match = _IAM_ARN.match(value)
    return [Principal(value, "arn", Who(value, match.group(1) if match else None), statement.source)]


def _org_ids(condition: Any) -> list[str]:
    if not isinstance(condition, dict):
        return []
    ids: list[str] = []
    for operator, block in condition.items():
        if str(operator).lower() in ("stringequals", "stringlike") and isinstance(block, dict):
            for key, value in block.items():
                if str(key).lower() == _ORG_KEY:
                    ids += [str(v) for v in (value if isinstance(value, list) else [value])]
    return ids
