"""Opt-in check after deploy: ``ecr:ValidatePullThroughCacheRule`` fails the deploy when credentials do not work."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CustomResource, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

#: Runs in the Lambda; reports to CloudFormation with the service's failure message.
HANDLER = '''
import json
import urllib.request

import boto3


def handler(event, context):
    prefix = event["ResourceProperties"]["EcrRepositoryPrefix"]
    status, reason = "SUCCESS", "the upstream accepted the credentials"
    if event["RequestType"] != "Delete":
        try:
            result = boto3.client("ecr").validate_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
            if not result.get("isValid"):
                status = "FAILED"
                reason = f"ValidatePullThroughCacheRule {prefix}: {result.get('failure') or 'not valid'}"
        except Exception as error:
            status, reason = "FAILED", f"ValidatePullThroughCacheRule {prefix}: {error}"
    body = json.dumps({"Status": status, "Reason": reason[:1000], "PhysicalResourceId": f"validate-{prefix}",
                       "StackId": event["StackId"], "RequestId": event["RequestId"],
                       "LogicalResourceId": event["LogicalResourceId"]}).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    urllib.request.urlopen(request, timeout=30)
'''


class PullThroughCacheRuleValidation(Construct):
    """Defines a custom resource that validates a rule's upstream credentials after every change.

    It calls ``ecr:ValidatePullThroughCacheRule`` once the rule exists, and fails the deploy with
    the service's message when ECR cannot authenticate to the upstream. One Lambda function per
    stack serves every rule; its role may only validate rules and read the given secrets.
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
        function = _validator(Stack.of(self))
        function.add_to_role_policy(iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"],
                                                        resources=[secret_arn]))
        resource = CustomResource(self, "Resource", service_token=function.function_arn,
                                  resource_type="Custom::PullThroughCacheRuleValidation",
                                  properties={"EcrRepositoryPrefix": prefix, "CredentialArn": secret_arn})
        resource.node.add_dependency(rule_resource)


def _validator(stack: Stack) -> lambda_.Function:
    """The stack's one validation function, with its own log group and least-privilege role."""
    existing = stack.node.try_find_child("PullThroughCacheValidator")
    if existing is not None:
        return existing.node.find_child("Function")
    scope = Construct(stack, "PullThroughCacheValidator")
    log_group = logs.LogGroup(scope, "Logs", retention=logs.RetentionDays.ONE_MONTH,
                              removal_policy=RemovalPolicy.DESTROY)
    role = iam.Role(scope, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                    description="Validates ECR pull-through cache rules after deploy")
    role.add_to_policy(iam.PolicyStatement(actions=["ecr:ValidatePullThroughCacheRule"], resources=["*"]))
    log_group.grant_write(role)
    function = lambda_.Function(scope, "Function", runtime=lambda_.Runtime.PYTHON_3_14,
                                handler="index.handler", code=lambda_.Code.from_inline(HANDLER), role=role,
                                log_group=log_group, description="Validates ECR pull-through cache credentials")
    Validations.of(scope).acknowledge(Acknowledgment(id="AwsSolutions::AwsSolutions-IAM5[Resource::*]", reason=(
        "ecr:ValidatePullThroughCacheRule has no resource-level permission; it is the only action on *.")))
    return function
