"""IAM roles that ECR assumes on the cache's behalf."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Names, Stack, Token, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms

from ._actions import AUTH_TOKEN, ECR_TO_ECR_READ, ECR_TO_ECR_WRITE, REPLICATE_IMAGE, TEMPLATE_ROLE, TEMPLATE_ROLE_KMS
from ._env import repository_arn, resolved
from ._nag import acknowledge_wildcards
from ._validation import CONSTRUCT, KEY, check_arguments, check_construct, fail

#: The name prefix of every role the library creates, so a deploying role can be allowed to create and
#: pass exactly them (ECR rejects a role ARN with an IAM path, so the roles have no path).
ROLE_NAME_PREFIX = "cdk-ecr-ptc-"


def library_role_name(scope: IConstruct) -> str:
    """The name of a role the library creates at ``scope``: ``cdk-ecr-ptc-<region>-`` and a unique id of its path.

    Role names are global to an account, so the Region keeps the same stack deployed to two Regions
    apart. The name stays the same as long as the construct path does, so the role is never replaced
    under a name that is still taken; it has at most 64 characters, IAM's limit (a Region that is a
    token is counted at 16 characters, the longest Region name).
    """
    region = Stack.of(scope).region
    region_length = 16 if Token.is_unresolved(region) else len(region)
    unique = Names.unique_resource_name(scope, max_length=64 - len(ROLE_NAME_PREFIX) - region_length - 1, separator="")
    return f"{ROLE_NAME_PREFIX}{region}-{unique}"


#: The service principal that assumes an ECR-to-ECR rule's custom role.
PULL_THROUGH_CACHE_SERVICE = "pullthroughcache.ecr.amazonaws.com"


class EcrUpstreamRole(iam.Role):
    """Defines the custom role of an ECR-to-ECR rule, trusted by ``pullthroughcache.ecr.amazonaws.com``.

    AWS documents the role's actions on ``Resource: "*"``; this role scopes the read actions to the
    upstream registry's repositories, the write actions (``ecr:PutImage`` and the layer uploads) to the
    cache's own, and keeps ``*`` only for ``ecr:GetAuthorizationToken``, which has no resource-level
    permission. That ECR accepts the narrower scope is [UNVERIFIED] without an account.

    Its name starts with ``cdk-ecr-ptc-`` and it has no IAM path. The trust policy is the documented one
    (``pullthroughcache.ecr.amazonaws.com``, no condition): the ECR user guide shows no ``aws:SourceAccount``
    for this principal, and a condition the service does not send would make every assume fail.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        upstream_account: str,
        upstream_region: str,
        upstream_repository_prefix: str | None,
        cache_repository_arn: str,
    ) -> None:
        """
        Args:
            scope: the rule.
            id: the construct id.
            upstream_account: the upstream registry's account.
            upstream_region: the upstream registry's Region.
            upstream_repository_prefix: the upstream prefix, or ``None`` for every repository.
            cache_repository_arn: the ARN pattern of the cache's repositories.
        """
        check_construct(
            "EcrUpstreamRole",
            scope,
            id,
            upstream_account=(upstream_account, str),
            upstream_region=(upstream_region, str),
            upstream_repository_prefix=(upstream_repository_prefix, (str, None)),
            cache_repository_arn=(cache_repository_arn, str),
        )
        super().__init__(
            scope,
            id,
            assumed_by=iam.ServicePrincipal(PULL_THROUGH_CACHE_SERVICE),
            role_name=library_role_name(scope),
            description="Pulls images from an upstream ECR registry into the pull-through cache",
        )
        upstream_pattern = f"{upstream_repository_prefix}/*" if upstream_repository_prefix else "*"
        upstream_arn = repository_arn(self, upstream_pattern, account=upstream_account, region=upstream_region)
        self.add_to_policy(iam.PolicyStatement(actions=list(ECR_TO_ECR_READ), resources=[upstream_arn]))
        self.add_to_policy(iam.PolicyStatement(actions=list(ECR_TO_ECR_WRITE), resources=[cache_repository_arn]))
        self.add_to_policy(iam.PolicyStatement(actions=[AUTH_TOKEN], resources=["*"]))
        acknowledge_wildcards(
            self,
            [upstream_arn, cache_repository_arn],
            reason=(
                "Pull-through cache creates the cache's repositories on first pull, from any repository of the "
                "upstream's prefix; AWS documents this role on '*' and we scope it to those two prefixes."
            ),
        )
        Validations.of(self).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason="ecr:GetAuthorizationToken has no resource-level permission; it is the only action on *.",
            )
        )


#: The service principal that assumes a repository creation template's custom role.
ECR_SERVICE = "ecr.amazonaws.com"


class RepositoryCreationRole(iam.Role):
    """Defines the custom role of a repository creation template, trusted by ``ecr.amazonaws.com``.

    ECR needs it when a template tags repositories or encrypts them with KMS. AWS documents the
    actions on ``Resource: "*"``; this role scopes them to the template's repositories, and the KMS
    actions to the template's key. That AWS accepts the narrower scope is not verified here.

    Its name starts with ``cdk-ecr-ptc-`` and it has no IAM path: the schema of
    ``RepositoryCreationTemplate.CustomRoleArn`` rejects a role ARN with a path. The trust policy is the
    documented one (``ecr.amazonaws.com``, no condition), for the same reason as :class:`EcrUpstreamRole`'s.
    """

    def __init__(
        self, scope: Construct, id: str, *, repository_arn: str, replication: bool, encryption_key: kms.IKey | None
    ) -> None:
        """
        Args:
            scope: the template.
            id: the construct id.
            repository_arn: the ARN pattern of the repositories the template creates.
            replication: whether the template applies to replication (adds ``ecr:ReplicateImage``).
            encryption_key: the template's KMS key, if any.
        """
        check_construct(
            "RepositoryCreationRole",
            scope,
            id,
            repository_arn=(repository_arn, str),
            replication=(replication, bool),
            encryption_key=(encryption_key, (KEY, None)),
        )
        super().__init__(
            scope,
            id,
            assumed_by=iam.ServicePrincipal(ECR_SERVICE),
            role_name=library_role_name(scope),
            description="Creates repositories from an ECR repository creation template",
        )
        self._statement = iam.PolicyStatement(
            actions=list(TEMPLATE_ROLE) + ([REPLICATE_IMAGE] if replication else []), resources=[repository_arn]
        )
        self.add_to_policy(self._statement)
        if encryption_key is not None:
            encryption_key.grant(self, *TEMPLATE_ROLE_KMS)
        self._acknowledge(repository_arn)

    @classmethod
    def shared(
        cls, template: IConstruct, *, repository_arn: str, replication: bool, encryption_key: kms.IKey | None
    ) -> RepositoryCreationRole:
        """The role of ``template``'s stack for templates with the same needs (replication, key), defined on first
        use; each template adds its repositories, so four tagging templates share one role, not four.

        Args:
            template: the template.
            repository_arn: the ARN pattern of the template's repositories.
            replication: whether the template applies to replication.
            encryption_key: the template's KMS key, if any.
        """
        check_arguments(
            "RepositoryCreationRole.shared",
            template=(template, CONSTRUCT),
            repository_arn=(repository_arn, str),
            replication=(replication, bool),
            encryption_key=(encryption_key, (KEY, None)),
        )
        stack = Stack.of(template)
        id = (
            "CdkEcrPtcTemplateRole"
            + ("Replication" if replication else "")
            + (encryption_key.node.addr[:8] if encryption_key is not None else "")
        )
        holder = stack.node.try_find_child(id)
        if holder is None:
            return cls(
                Construct(stack, id),
                "Role",
                repository_arn=repository_arn,
                replication=replication,
                encryption_key=encryption_key,
            )
        role = holder.node.find_child("Role")
        assert isinstance(role, RepositoryCreationRole)
        if repository_arn not in role._statement.resources:
            role._statement.add_resources(repository_arn)
            role._acknowledge(repository_arn)
        return role

    def _acknowledge(self, repository_arn: str) -> None:
        acknowledge_wildcards(
            self,
            [repository_arn],
            reason=(
                "ECR creates the templates' repositories on demand; each wildcard is scoped to a template's prefix."
            ),
        )


def check_role_without_path(scope: IConstruct, role: iam.IRole, what: str) -> None:
    """Fails when ``role`` has an IAM path, where that is known at synth (ECR's schema rejects its ARN).

    The path is read from a literal role ARN, or from the ``Path`` of a role defined in the app.

    Args:
        scope: the construct the role is given to (named in the error).
        role: the role.
        what: what the role is for, for the message.
    """
    arn = role.role_arn
    path = None
    if resolved(arn) and ":role/" in arn:
        name = arn.split(":role/", 1)[1]
        path = "/" + name.rsplit("/", 1)[0] + "/" if "/" in name else None
        shown = arn
    else:
        child = role.node.default_child
        path = child.path if isinstance(child, iam.CfnRole) and resolved(child.path) else None
        shown = role.node.path
    if path not in (None, "/"):
        raise fail(
            scope,
            f"{what} {shown} has the IAM path {path!r}; ECR's schema rejects a role ARN with a path",
            path,
            "Use a role without a path (path='/'), or let the library create the role.",
        )
