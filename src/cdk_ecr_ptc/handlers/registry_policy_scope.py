"""Lambda handler: sets the account's ECR registry-policy scope to V2 before the registry policy is written.

Runs behind ``aws_cdk.custom_resources.Provider``, which answers CloudFormation: an exception here fails
the deploy with its message. Nothing is undone on delete: AWS advises against going back to V1, and
other stacks' registry policies may rely on V2.
"""

from __future__ import annotations

from typing import Any

SETTING = "REGISTRY_POLICY_SCOPE"
VALUE = "V2"


def on_event(event: dict[str, Any], context: object = None, client: Any = None) -> dict[str, Any]:
    """Handles a Create, Update or Delete request of ``Custom::EcrRegistryPolicyScope``."""
    physical_id = event.get("PhysicalResourceId") or f"{SETTING}={VALUE}"
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": physical_id}
    if client is None:
        import boto3  # in Lambda's runtime; tests pass a stubbed botocore client

        client = boto3.client("ecr")
    ecr = client
    current = ecr.get_account_setting(name=SETTING)
    if current.get("value") != VALUE:
        ecr.put_account_setting(name=SETTING, value=VALUE)
    return {"PhysicalResourceId": physical_id, "Data": {"Previous": str(current.get("value", "")), "Value": VALUE}}
