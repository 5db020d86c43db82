"""The checks that read one stack: registry-policy scope, retry collisions and custom-resource timeouts.

Each is written from the service's documented behaviour, never from the library's code.
"""

from __future__ import annotations

from collections.abc import Iterator

from .findings import Finding, StackView, as_list, policy_document
from .resolve import Unresolved

#: Resource metadata in which a registry policy declares the scope it is written for (absent: V1).
SCOPE_METADATA = "cdk-ecr-ptc:registryPolicyScope"
#: What a registry policy may hold on an account whose registry-policy scope is V1 (ECR user guide,
#: registry-permissions.html). V2 accepts every ECR action.
V1_ACTIONS = frozenset({"ecr:replicateimage", "ecr:batchimportupstreamimage", "ecr:createrepository"})
#: A custom resource's Lambda should outlast a cold start, the service call and the response.
MIN_CUSTOM_RESOURCE_TIMEOUT = 30
LAMBDA_DEFAULT_TIMEOUT = 3


def registry_policy_scope(view: StackView) -> Iterator[Finding]:
    """Flags registry-policy actions that the declared (or default V1) registry-policy scope rejects."""
    for logical_id, resource in view.of_type("AWS::ECR::RegistryPolicy"):
        metadata = resource.get("Metadata") or {}
        scope = str(metadata.get(SCOPE_METADATA, "V1")).upper() if isinstance(metadata, dict) else "V1"
        if scope == "V2":
            continue
        document = policy_document(view.resolver.properties(logical_id).get("PolicyText"))
        if document is None:
            continue
        rejected: list[str] = []
        for statement in as_list(document.get("Statement")):
            if not isinstance(statement, dict):
                continue
            if "NotAction" in statement:
                rejected += [f"NotAction {action}" for action in as_list(statement["NotAction"])]
            rejected += [
                a for a in as_list(statement.get("Action")) if not isinstance(a, str) or a.lower() not in V1_ACTIONS
            ]
        if rejected:
            yield view.finding(
                "registry-policy-scope",
                logical_id,
                sorted({str(a) for a in rejected}),
                f"the registry policy declares scope {scope} (metadata {SCOPE_METADATA}; absent means V1), and a "
                "V1 registry policy may hold only ecr:ReplicateImage, ecr:BatchImportUpstreamImage and "
                "ecr:CreateRepository, so PutRegistryPolicy rejects these actions",
                "Grant pull actions in the repository policy of the creation template that covers the rule; or "
                "move the account to V2 (aws ecr put-account-setting --name REGISTRY_POLICY_SCOPE --value V2) "
                "and declare registry_policy_scope=RegistryPolicyScope.V2.",
            )


def retained_fixed_names(view: StackView) -> Iterator[Finding]:
    """Flags resources that a failed create keeps (``DeletionPolicy: Retain``) under a fixed name."""
    for logical_id, resource in view.resources.items():
        if resource.get("DeletionPolicy") != "Retain":
            continue
        named = view.resolver.custom_name(logical_id)
        if named is None:
            continue
        prop, name = named
        yield view.finding(
            "retained-fixed-name",
            logical_id,
            name,
            f"DeletionPolicy Retain keeps this resource when the stack's first create rolls back, so the retry "
            f"fails because {prop} '{name}' already exists",
            "Use RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE (DeletionPolicy RetainExceptOnCreate), or let "
            "CloudFormation generate the name.",
        )


def custom_resource_timeouts(view: StackView) -> Iterator[Finding]:
    """Flags custom resources with no ``ServiceTimeout``, or whose Lambda times out in under 30 s."""
    functions = {view.resolver.arn(lid): lid for lid, _ in view.of_type("AWS::Lambda::Function")}
    for logical_id, resource in view.resources.items():
        kind = str(resource.get("Type", ""))
        if kind != "AWS::CloudFormation::CustomResource" and not kind.startswith("Custom::"):
            continue
        props = resource.get("Properties") or {}
        if "ServiceTimeout" not in props:
            yield view.finding(
                "custom-resource-timeout",
                logical_id,
                "ServiceTimeout absent",
                "a custom resource without ServiceTimeout waits up to an hour for a handler that never answers",
                "Set service_timeout on the CustomResource (a few minutes).",
            )
        function = _service_function(view, props.get("ServiceToken"), functions)
        if function is None:
            continue
        timeout = view.resolver.try_text(
            (view.resources[function].get("Properties") or {}).get("Timeout", LAMBDA_DEFAULT_TIMEOUT)
        )
        if timeout is not None and timeout.isdigit() and int(timeout) < MIN_CUSTOM_RESOURCE_TIMEOUT:
            yield view.finding(
                "custom-resource-timeout",
                function,
                f"Timeout {timeout}",
                f"the Lambda behind custom resource {view.path(logical_id)} times out after {timeout} s, before a "
                "cold start, the service call and the response to CloudFormation can finish",
                "Give the function a timeout of at least 60 s (Duration.minutes(1)), or put it behind "
                "custom_resources.Provider.",
            )


def _service_function(view: StackView, token: object, functions: dict[str | None, str]) -> str | None:
    """The logical ID of the template's Lambda function that a ``ServiceToken`` names, or None."""
    if isinstance(token, dict) and isinstance(token.get("Fn::GetAtt"), list):
        target = token["Fn::GetAtt"][0]
        if target in view.resources and view.resources[target].get("Type") == "AWS::Lambda::Function":
            return str(target)
    try:
        arn = view.resolver.text(token)
    except Unresolved:
        return None
    return functions.get(arn)
