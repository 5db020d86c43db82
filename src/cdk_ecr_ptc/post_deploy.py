"""Opt-in check after deploy: ``ecr:ValidatePullThroughCacheRule`` fails the deploy when credentials do not work."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CustomResource, Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr
from constructs import Construct

from ._lambda import RUNTIME, handler_code, lambda_role, log_group
from ._nag import acknowledge_wildcards
from .roles import library_role_name

#: The directory of the handler modules, deployed as the functions' code.
#: Lambda's timeout for one validation: a cold start and one ECR call that contacts the upstream.
HANDLER_TIMEOUT = Duration.seconds(60)
#: How long CloudFormation waits for an answer before it fails the resource (its default is an hour).
SERVICE_TIMEOUT = Duration.minutes(5)
#: How long the functions' logs are kept.


class PullThroughCacheRuleValidation(Construct):
    """Defines a custom resource that validates a rule's upstream credentials after every change.

    It calls ``ecr:ValidatePullThroughCacheRule`` once the rule exists, and fails the deploy with
    the service's failure text when ECR cannot authenticate to the upstream. One
    :class:`ValidationProvider` per stack serves every rule. ECR reads the secret itself, so the
    handler's role may only call ``ecr:ValidatePullThroughCacheRule``.
    """

    def __init__(self, scope: Construct, id: str, *, rule_resource: Construct, prefix: str, secret_arn: str) -> None:
        """
        Args:
            scope: the rule.
            id: the construct id.
            rule_resource: the ``CfnPullThroughCacheRule``, created before the check.
            prefix: the rule's prefix.
            secret_arn: the credential secret's ARN (a change validates again).
        """
        super().__init__(scope, id)
        provider = ValidationProvider.of(Stack.of(self))
        resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type="Custom::PullThroughCacheRuleValidation",
            service_timeout=SERVICE_TIMEOUT,
            properties={"EcrRepositoryPrefix": prefix, "CredentialArn": secret_arn},
        )
        resource.node.add_dependency(rule_resource)


class ValidationProvider(Construct):
    """Defines a stack's one validation provider: the handler, the Provider framework, their roles and logs.

    Both functions have a ``cdk-ecr-ptc-`` name, a log group with a retention of
    :data:`~cdk_ecr_ptc._lambda.LOG_RETENTION`, and a role named by :func:`library_role_name` without an IAM path.
    """

    ID = "PullThroughCacheValidator"

    @classmethod
    def of(cls, stack: Stack) -> ValidationProvider:
        """The stack's validation provider, created on first use."""
        existing = stack.node.try_find_child(cls.ID)
        return existing if isinstance(existing, ValidationProvider) else cls(stack, cls.ID)

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        handler = Construct(self, "Handler")
        role = lambda_role(handler, "Role", "Validates ECR pull-through cache rules after deploy")
        role.add_to_policy(iam.PolicyStatement(actions=["ecr:ValidatePullThroughCacheRule"], resources=["*"]))
        name = library_role_name(handler)
        function = lambda_.Function(
            handler,
            "Function",
            function_name=name,
            runtime=RUNTIME,
            handler="validate_rule.on_event",
            code=handler_code(),
            timeout=HANDLER_TIMEOUT,
            role=role,
            log_group=log_group(handler, "Logs", name, role),
            description="Validates ECR pull-through cache rules after deploy",
        )
        framework = Construct(self, "Framework")
        framework_name = library_role_name(framework)
        framework_role = lambda_role(framework, "Role", "Answers CloudFormation for the rule validation")
        self._provider = cr.Provider(
            framework,
            "Provider",
            on_event_handler=function,
            provider_function_name=framework_name,
            framework_on_event_role=framework_role,
            log_group=log_group(framework, "Logs", framework_name, framework_role),
        )
        Validations.of(handler).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "ecr:ValidatePullThroughCacheRule has no resource-level permission; it is the only action on *."
                ),
            )
        )
        acknowledge_wildcards(
            framework,
            [f"{function.function_arn}:*"],
            reason=("The Provider framework may invoke every version of the handler; aws-cdk-lib grants it so."),
        )

    @property
    def service_token(self) -> str:
        """The ARN that custom resources of this provider name as their ServiceToken."""
        return self._provider.service_token
