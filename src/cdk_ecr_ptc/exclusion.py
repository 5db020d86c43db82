"""Principals whose pulls do not count as pulls for ``sinceImagePulled`` lifecycle rules."""

from __future__ import annotations

import re

from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._env import resolved
from ._validation import check_construct, fail

#: ``PrincipalArn`` of ``AWS::ECR::PullTimeUpdateExclusion`` (cfn-lint 1.58 schema, botocore 1.44.8): an IAM
#: role or user ARN, with a path or not.
PRINCIPAL_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/[\w+=,.@-]+(/[\w+=,.@-]+)*$")
MAX_PRINCIPAL_ARN_LENGTH = 200


class PullTimeUpdateExclusion(Construct):
    """Defines a pull time update exclusion (``AWS::ECR::PullTimeUpdateExclusion``) for one IAM principal.

    ECR does not record the pulls of an excluded principal as the image's last pull time, so scanners
    and cache warmers do not keep images alive under ``sinceImagePulled`` lifecycle rules. The exclusion
    applies to the whole registry (account and Region). Its only property is create-only: a new
    principal replaces the resource.
    """

    def __init__(self, scope: Construct, id: str, *, principal: iam.IRole | iam.IUser | str) -> None:
        """
        Args:
            scope: the parent construct.
            id: the construct id.
            principal: the IAM role or user, or its ARN (an unresolved token is checked by CloudFormation).
        """
        check_construct("PullTimeUpdateExclusion", scope, id)
        super().__init__(scope, id)
        arn = principal if isinstance(principal, str) else _arn_of(self, principal)
        if resolved(arn) and (len(arn) > MAX_PRINCIPAL_ARN_LENGTH or not PRINCIPAL_ARN.fullmatch(arn)):
            raise fail(
                self,
                "a pull time update exclusion takes an IAM role or user ARN",
                arn,
                "Pass arn:<partition>:iam::<account>:role/<name> or user/<name> (at most 200 characters).",
            )
        self._principal_arn = arn
        self._resource = ecr.CfnPullTimeUpdateExclusion(self, "Resource", principal_arn=arn)

    @property
    def principal_arn(self) -> str:
        """The ARN of the excluded principal."""
        return self._principal_arn


def _arn_of(scope: Construct, principal: iam.IRole | iam.IUser) -> str:
    arn = getattr(principal, "role_arn", None) or getattr(principal, "user_arn", None)
    if arn is None:
        raise fail(
            scope,
            "a pull time update exclusion takes an IAM role or user",
            type(principal).__name__,
            "Pass an iam.IRole, an iam.IUser or an ARN.",
        )
    return arn
