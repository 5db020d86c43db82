"""Opt-in: the account's registry-policy scope set to V2 by a custom resource, before the registry policy."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CustomResource, Duration, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from constructs import Construct

from ._lambda import RUNTIME, handler_code, lambda_role, log_group
from .roles import library_role_name

__all__ = ["RegistryPolicyScopeSetting"]


class RegistryPolicyScopeSetting(Construct):
    """Defines a custom resource that sets the account's ``REGISTRY_POLICY_SCOPE`` to ``V2``.

    It calls ``ecr:GetAccountSetting`` and, when the scope is not ``V2`` yet, ``ecr:PutAccountSetting``.
    The registry policy depends on it. Deleting it changes nothing (AWS advises against returning to V1).
    Both actions have no resource-level permission, so the function's role has them on ``*``.
    """

    def __init__(self, scope: Construct, id: str) -> None:
        """
        Args:
            scope: the registry policy.
            id: the construct id.
        """
        super().__init__(scope, id)
        role = lambda_role(self, "Role", "Sets the ECR registry-policy scope of the account to V2")
        role.add_to_policy(
            iam.PolicyStatement(actions=["ecr:GetAccountSetting", "ecr:PutAccountSetting"], resources=["*"])
        )
        function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            function_name=library_role_name(self),
            handler="registry_policy_scope.on_event",
            code=handler_code(),
            role=role,
            log_group=log_group(self, "Logs", library_role_name(self), role),
            timeout=Duration.seconds(60),
            description="Sets the ECR registry-policy scope to V2",
        )
        provider_role = lambda_role(
            self,
            "ProviderRole",
            "Answers CloudFormation for the registry-policy scope setting",
            name_scope=Construct(self, "ProviderRoleName"),
        )
        provider_logs = log_group(self, "ProviderLogs", library_role_name(provider_role), provider_role)
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=function,
            role=provider_role,
            provider_function_name=library_role_name(provider_role),
            log_group=provider_logs,
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type="Custom::EcrRegistryPolicyScope",
            properties={"Setting": "REGISTRY_POLICY_SCOPE", "Value": "V2"},
            service_timeout=Duration.minutes(5),
        )
        Validations.of(self).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason=("ecr:GetAccountSetting and ecr:PutAccountSetting have no resource-level permission."),
            ),
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-L1",
                reason=("The custom-resource framework function's runtime is chosen by aws-cdk-lib."),
            ),
        )
