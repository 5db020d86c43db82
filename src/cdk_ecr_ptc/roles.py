"""IAM roles that ECR assumes on the cache's behalf."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._actions import AUTH_TOKEN, ECR_TO_ECR_ROLE
from ._env import repository_arn

#: The service principal that assumes an ECR-to-ECR rule's custom role.
PULL_THROUGH_CACHE_SERVICE = "pullthroughcache.ecr.amazonaws.com"


class EcrUpstreamRole(iam.Role):
    """Defines the custom role of an ECR-to-ECR rule, trusted by ``pullthroughcache.ecr.amazonaws.com``.

    AWS documents the role's actions on ``Resource: "*"``; this role scopes the repository actions
    to the upstream registry's repositories and the cache's own, and keeps ``*`` only for
    ``ecr:GetAuthorizationToken``, which has no resource-level permission.
    """

    def __init__(self, scope: Construct, id: str, *, upstream_account: str, upstream_region: str,
                 upstream_repository_prefix: str | None, cache_repository_arn: str) -> None:
        """
        Args:
            scope: the rule.
            id: the construct id.
            upstream_account: the upstream registry's account.
            upstream_region: the upstream registry's Region.
            upstream_repository_prefix: the upstream prefix, or ``None`` for every repository.
            cache_repository_arn: the ARN pattern of the cache's repositories.
        """
        super().__init__(scope, id, assumed_by=iam.ServicePrincipal(PULL_THROUGH_CACHE_SERVICE),
                         description="Pulls images from an upstream ECR registry into the pull-through cache")
        upstream_pattern = f"{upstream_repository_prefix}/*" if upstream_repository_prefix else "*"
        upstream_arn = repository_arn(self, upstream_pattern, account=upstream_account, region=upstream_region)
        self.add_to_policy(iam.PolicyStatement(actions=list(ECR_TO_ECR_ROLE),
                                               resources=[upstream_arn, cache_repository_arn]))
        self.add_to_policy(iam.PolicyStatement(actions=[AUTH_TOKEN], resources=["*"]))
        Validations.of(self).acknowledge(
            Acknowledgment(id="AwsSolutions::AwsSolutions-IAM5", reason=(
                "ecr:GetAuthorizationToken has no resource-level permission, and the repository actions are "
                "scoped to the upstream's and the cache's repository prefixes, whose repositories are "
                "created on first pull.")))
