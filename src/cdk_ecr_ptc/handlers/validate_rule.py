"""Custom resource handler: checks a pull-through cache rule with ``ecr:ValidatePullThroughCacheRule``.

It runs in AWS Lambda behind ``aws_cdk.custom_resources.Provider``, which answers CloudFormation:
a return value is a success, an exception a failure whose message CloudFormation shows. The
handler needs boto3 only, and its role only ``ecr:ValidatePullThroughCacheRule`` (ECR reads the
rule's secret itself).
"""

from __future__ import annotations

from typing import Any

#: The ResourceProperties key that names the rule.
PREFIX = "EcrRepositoryPrefix"


def on_event(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """The Lambda entry point: validates the rule on Create and Update; Delete does nothing."""
    import boto3

    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId") or physical_id(event)}
    return validate(event, boto3.client("ecr"))


def physical_id(event: dict[str, Any]) -> str:
    """The custom resource's physical ID: one per rule prefix."""
    return f"validate-{event['ResourceProperties'][PREFIX]}"


def validate(event: dict[str, Any], ecr: Any) -> dict[str, Any]:
    """Calls ``ValidatePullThroughCacheRule`` for the event's rule with the ECR client ``ecr``.

    Returns the Provider's answer when ECR reports the rule valid; raises ``RuntimeError`` with the
    service's ``failure`` text otherwise, so that the deploy fails with it.
    """
    prefix = event["ResourceProperties"][PREFIX]
    result = ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
    if not result.get("isValid"):
        failure = result.get("failure") or "ECR gave no reason"
        raise RuntimeError(f"ValidatePullThroughCacheRule {prefix}: the upstream rejected the rule: {failure}")
    return {
        "PhysicalResourceId": physical_id(event),
        "Data": {"UpstreamRegistryUrl": result.get("upstreamRegistryUrl", "")},
    }
