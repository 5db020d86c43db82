"""What every custom-resource function of the library shares: its code, runtime, role and log group."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from .roles import library_role_name

#: The package of handler modules; one asset serves every function of the library.
HANDLER_CODE = Path(__file__).parent / "handlers"

#: The runtime of the library's functions.
RUNTIME = lambda_.Runtime.PYTHON_3_14

#: How long the functions' logs are kept.
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


def handler_code() -> lambda_.Code:
    """The handlers package as a Lambda asset, without compiled files."""
    return lambda_.Code.from_asset(str(HANDLER_CODE), exclude=["__pycache__", "*.pyc"])


def lambda_role(scope: Construct, id: str, description: str, *, name_scope: IConstruct | None = None) -> iam.Role:
    """Defines a role for a function of the library: trusted by Lambda, no IAM path, and named by
    :func:`library_role_name` of ``name_scope`` (default: ``scope``), so a deploying role can be allowed exactly it.
    """
    return iam.Role(
        scope,
        id,
        role_name=library_role_name(name_scope or scope),
        description=description,
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
    )


def log_group(scope: Construct, id: str, function_name: str, writer: iam.IGrantable) -> logs.LogGroup:
    """Defines the log group of the function ``function_name``, writable by ``writer``, kept for
    :data:`LOG_RETENTION` and deleted with the stack."""
    group = logs.LogGroup(
        scope,
        id,
        log_group_name=f"/aws/lambda/{function_name}",
        retention=LOG_RETENTION,
        removal_policy=RemovalPolicy.DESTROY,
    )
    group.grant_write(writer)
    return group
