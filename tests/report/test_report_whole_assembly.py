"""The report relates principals and rules across the whole assembly: stacks, accounts, boundaries, Denies.

Each case is a small hand-written assembly (``StackArtifact`` list), so the test sees exactly the
statements the report reads.
"""

import json
from typing import Any

import pytest

from cdk_ecr_ptc.report import StackArtifact, build_report
from cdk_ecr_ptc.report.resources import lifecycle_sentence

CENTRAL, WORKLOAD, UPSTREAM = "111122223333", "222233334444", "999988887777"
REGION = "eu-west-1"
PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
QUAY = f"arn:aws:ecr:{REGION}:{CENTRAL}:repository/quay/*"


def stack(name: str, account: str, resources: dict[str, Any]) -> StackArtifact:
    return StackArtifact(name, f"aws://{account}/{REGION}", {"Resources": resources})


def rule(prefix: str, **props: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::ECR::PullThroughCacheRule",
        "Properties": {"EcrRepositoryPrefix": prefix, "UpstreamRegistryUrl": "quay.io", **props},
    }


def registry_policy(*statements: dict[str, Any], scope: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "Type": "AWS::ECR::RegistryPolicy",
        "Properties": {"PolicyText": {"Version": "2012-10-17", "Statement": list(statements)}},
    }
    if scope:
        resource["Metadata"] = {"cdk-ecr-ptc:registryPolicyScope": scope}
    return resource


def allow(principal: Any, actions: list[str], resource: Any = QUAY, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": actions, "Resource": resource, **extra}


def role(name: str | None = None, service: str = "ecs-tasks.amazonaws.com", **props: Any) -> dict[str, Any]:
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": trust, **({"RoleName": name} if name else {}), **props},
    }


def policy(target: str, *statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": f"{target}Policy",
            "Roles": [{"Ref": target}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
        },
    }


def identity(actions: list[str], resource: Any = QUAY) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


TOKEN = identity(["ecr:GetAuthorizationToken"], "*")


def access(report: dict[str, Any], principal: str, rule_name: str = "quay") -> dict[str, Any]:
    (found,) = [
        a for r in report["registries"] for a in r["access"] if (a["principal"], a["rule"]) == (principal, rule_name)
    ]
    return found


def cache_stack(*statements: dict[str, Any], scope: str | None = "V2", **more: Any) -> StackArtifact:
    return stack(
        "Central", CENTRAL, {"Quay": rule("quay"), "Policy": registry_policy(*statements, scope=scope), **more}
    )


def workload_stack(*statements: dict[str, Any], **role_props: Any) -> StackArtifact:
    resources: dict[str, Any] = {"Exec": role(**role_props)}
    if statements:
        resources["ExecPolicy"] = policy("Exec", *statements)
    return stack("Workload", WORKLOAD, resources)


GRANT_WORKLOAD = allow({"AWS": f"arn:aws:iam::{WORKLOAD}:root"}, PULL)


def test_workload_role_pulls_through_central_rules_with_both_sides() -> None:
    report = build_report([cache_stack(GRANT_WORKLOAD), workload_stack(TOKEN, identity(PULL))])

    assert access(report, "Exec") | {"registry": "-"} == {
        "principal": "Exec",
        "rule": "quay",
        "registry": "-",
        "allowed": True,
        "blocking": None,
        "missing": [],
        "identity_outside": [],
    }
    assert access(report, f"account {WORKLOAD}")["identity_outside"] == ["ecr:GetAuthorizationToken", *PULL]


def test_workload_role_without_its_identity_side_is_blocked_on_identity() -> None:
    report = build_report([cache_stack(GRANT_WORKLOAD), workload_stack(TOKEN, identity(PULL[:3]))])

    entry = access(report, "Exec", "quay")
    assert (entry["allowed"], entry["blocking"]) == (False, "identity")
    assert entry["missing"] == [{"action": "ecr:CreateRepository", "side": "identity", "denied": False, "reasons": []}]


def test_role_with_only_the_token_in_a_granted_account_is_not_a_row() -> None:
    report = build_report([cache_stack(GRANT_WORKLOAD), workload_stack(TOKEN)])

    assert report["registries"][0]["principals"] == [f"account {WORKLOAD}"] and report["hidden"] == ["Exec"]


def test_workload_role_not_granted_by_the_central_registry_is_blocked_on_the_registry_policy() -> None:
    report = build_report([cache_stack(), workload_stack(TOKEN, identity(PULL))])

    entry = access(report, "Exec")
    assert (entry["allowed"], entry["blocking"]) == (False, "registry policy")
    assert report["registries"][0]["principals"] == ["Exec"]  # an ECR permission on the registry: a row


def test_application_stack_in_the_cache_environment_needs_only_its_identity() -> None:
    app = stack("App", CENTRAL, {"Task": role(), "TaskPolicy": policy("Task", TOKEN, identity(PULL))})

    report = build_report([cache_stack(), app])

    assert [r["stacks"] for r in report["registries"]] == [["Central", "App"]]
    assert access(report, "Task")["allowed"]


def test_role_of_another_stack_granted_by_name_is_matched_by_arn() -> None:
    arn = f"arn:aws:iam::{WORKLOAD}:role/named-puller"
    report = build_report([cache_stack(allow({"AWS": arn}, PULL)), workload_stack(TOKEN, RoleName="named-puller")])

    entry = access(report, "Exec")
    assert entry["allowed"] is False and entry["blocking"] == "identity"  # its stack grants only the token
    assert arn not in [p["name"] for p in report["principals"]]  # not an "outside" principal
    assert report["registries"][0]["principals"] == ["Exec"]


def test_role_of_another_stack_granted_through_an_export_is_matched() -> None:
    export = "App:ExportsOutputFnGetAttTaskArn"
    app = stack("App", CENTRAL, {"Task": role(), "TaskPolicy": policy("Task", TOKEN)})
    app.template["Outputs"] = {"TaskArn": {"Value": {"Fn::GetAtt": ["Task", "Arn"]}, "Export": {"Name": export}}}
    cache = cache_stack(allow({"AWS": {"Fn::ImportValue": export}}, PULL))

    report = build_report([cache, app])

    assert report["registries"][0]["principals"] == ["Task"]
    assert access(report, "Task")["allowed"]  # the token from its stack, the rest from the registry policy


def test_policy_attached_by_name_joins_the_role_another_stack_defines() -> None:
    app = stack("App", CENTRAL, {"Task": role("task-role")})
    grant = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "Grant",
            "Roles": ["task-role"],
            "PolicyDocument": {"Statement": [TOKEN, identity(PULL)]},
        },
    }

    report = build_report([cache_stack(Grant=grant), app])

    assert [p["name"] for p in report["principals"]] == ["Task"]
    assert access(report, "Task")["allowed"]


def test_policy_attached_to_an_imported_role_makes_a_principal_of_it() -> None:
    grant = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "Grant",
            "Roles": ["imported"],
            "PolicyDocument": {"Statement": [TOKEN, identity(PULL)]},
        },
    }

    report = build_report([cache_stack(Grant=grant)])

    (imported,) = report["principals"]
    assert (imported["name"], imported["arn"], imported["logical_id"]) == (
        "imported",
        f"arn:aws:iam::{CENTRAL}:role/imported",
        None,
    )
    assert imported["notes"] == ["not defined in the assembly: only the policies it attaches are counted"]
    assert access(report, "imported")["allowed"]


def test_boundary_of_another_stack_blocks_create_repository() -> None:
    boundary = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {"ManagedPolicyName": "pull-only", "PolicyDocument": {"Statement": [identity(["ecr:*"], "*")]}},
    }
    boundary["Properties"]["PolicyDocument"]["Statement"][0]["Action"] = [
        "ecr:GetAuthorizationToken",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    boundaries = stack("Boundaries", WORKLOAD, {"PullOnly": boundary})
    workload = workload_stack(TOKEN, identity(PULL), PermissionsBoundary=f"arn:aws:iam::{WORKLOAD}:policy/pull-only")

    entry = access(build_report([cache_stack(GRANT_WORKLOAD), boundaries, workload]), "Exec")

    assert (entry["allowed"], entry["blocking"]) == (False, "boundary")
    assert {m["action"]: m["side"] for m in entry["missing"]} == {
        "ecr:BatchImportUpstreamImage": "boundary",
        "ecr:CreateRepository": "boundary",
    }


def test_boundary_outside_the_assembly_is_named_and_allows_nothing() -> None:
    arn = f"arn:aws:iam::{WORKLOAD}:policy/cdk-boundary"
    report = build_report([cache_stack(GRANT_WORKLOAD), workload_stack(TOKEN, identity(PULL), PermissionsBoundary=arn)])

    entry = access(report, "Exec")
    assert entry["blocking"] == "boundary"
    assert entry["missing"][0]["reasons"] == [
        f"permissions boundary {arn} is not in the assembly: counted as allowing nothing"
    ]
    (exec_,) = [p for p in report["principals"] if p["name"] == "Exec"]
    assert exec_["boundary"] == arn


def test_boundary_in_the_same_account_limits_a_registry_policy_grant_to_a_role() -> None:
    boundary = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": [TOKEN]}}}
    role_arn = {"Fn::GetAtt": ["Task", "Arn"]}
    cache = cache_stack(
        allow({"AWS": role_arn}, PULL),
        Task=role(PermissionsBoundary={"Ref": "Boundary"}),
        TaskPolicy=policy("Task", TOKEN),
        Boundary=boundary,
    )

    entry = access(build_report([cache]), "Task")

    assert entry["blocking"] == "boundary" and len(entry["missing"]) == 4


def test_boundary_in_the_same_account_does_not_limit_a_registry_policy_grant_to_a_user() -> None:
    boundary = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": [TOKEN]}}}
    user = {
        "Type": "AWS::IAM::User",
        "Properties": {
            "UserName": "ci",
            "PermissionsBoundary": {"Ref": "Boundary"},
            "Policies": [{"PolicyName": "Token", "PolicyDocument": {"Statement": [TOKEN]}}],
        },
    }
    cache = cache_stack(allow({"AWS": f"arn:aws:iam::{CENTRAL}:user/ci"}, PULL), Ci=user, Boundary=boundary)

    assert access(build_report([cache]), "Ci")["allowed"]


def test_explicit_deny_in_the_registry_policy_is_named() -> None:
    deny = {
        "Sid": "NoQuayImport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "ecr:BatchImportUpstreamImage",
        "Resource": QUAY,
    }
    report = build_report([cache_stack(GRANT_WORKLOAD, deny), workload_stack(TOKEN, identity(PULL))])

    entry = access(report, "Exec")
    assert entry["blocking"] == "explicit deny"
    assert entry["missing"] == [
        {
            "action": "ecr:BatchImportUpstreamImage",
            "side": "explicit deny",
            "denied": True,
            "reasons": ["registry policy Policy (NoQuayImport)"],
        }
    ]


def test_service_principal_in_the_registry_policy_is_a_row() -> None:
    service = allow({"Service": "codebuild.amazonaws.com"}, PULL)
    report = build_report([cache_stack(service)])

    assert report["registries"][0]["principals"] == ["service codebuild.amazonaws.com"]
    entry = access(report, "service codebuild.amazonaws.com")
    assert entry["allowed"] and entry["identity_outside"] == []


def test_scope_v1_registry_policy_grants_only_the_v1_actions() -> None:
    workload = workload_stack(TOKEN, identity(PULL))

    v1 = access(build_report([cache_stack(GRANT_WORKLOAD, scope=None), workload]), "Exec")
    v2 = access(build_report([cache_stack(GRANT_WORKLOAD, scope="V2"), workload]), "Exec")
    forced = access(build_report([cache_stack(GRANT_WORKLOAD, scope=None), workload], registry_scope="V2"), "Exec")

    assert v2["allowed"] and forced["allowed"]
    assert v1["blocking"] == "repository policy"
    assert {m["action"] for m in v1["missing"]} == {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}


def test_scope_v1_layout_pull_actions_in_the_template_repository_policy() -> None:
    repository_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{WORKLOAD}:root"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchImportUpstreamImage"],
            }
        ],
    }
    template = {
        "Type": "AWS::ECR::RepositoryCreationTemplate",
        "Properties": {
            "Prefix": "quay",
            "AppliedFor": ["PULL_THROUGH_CACHE"],
            "RepositoryPolicy": json.dumps(repository_policy),
        },
    }
    v1_registry = allow(
        {"AWS": f"arn:aws:iam::{WORKLOAD}:root"}, ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
    )

    report = build_report(
        [cache_stack(v1_registry, scope="V1", Template=template), workload_stack(TOKEN, identity(PULL))]
    )

    assert report["registries"][0]["registry_policy_scope_source"] == "metadata"
    assert access(report, "Exec")["allowed"]


def test_ecr_to_ecr_role_is_joined_with_the_upstream_registry_policy() -> None:
    upstream_url = f"{UPSTREAM}.dkr.ecr.{REGION}.amazonaws.com"
    ecr_rule = rule(
        "ecr",
        UpstreamRegistry="ecr",
        UpstreamRegistryUrl=upstream_url,
        CustomRoleArn={"Fn::GetAtt": ["EcrRole", "Arn"]},
    )
    role_policy = policy(
        "EcrRole",
        identity(
            [
                "ecr:GetAuthorizationToken",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchImportUpstreamImage",
                "ecr:GetImageCopyStatus",
            ],
            "*",
        ),
    )
    downstream = stack(
        "Down",
        CENTRAL,
        {
            "Ecr": ecr_rule,
            "EcrRole": role("cdk-ecr-ptc-ecr", "pullthroughcache.ecr.amazonaws.com"),
            "EcrRolePolicy": role_policy,
        },
    )
    grant = allow(
        {"AWS": f"arn:aws:iam::{CENTRAL}:root"},
        ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchImportUpstreamImage", "ecr:GetImageCopyStatus"],
        f"arn:aws:ecr:{REGION}:{UPSTREAM}:repository/*",
    )
    granted = stack("Up", UPSTREAM, {"Policy": registry_policy(grant, scope="V2")})
    silent = stack("Up", UPSTREAM, {"Policy": registry_policy(scope="V2")})

    (ok,) = build_report([downstream, granted])["upstream"]
    (refused,) = build_report([downstream, silent])["upstream"]
    (unknown,) = build_report([downstream])["upstream"]

    assert (ok["role"], ok["upstream"], ok["allowed"]) == ("EcrRole", f"{UPSTREAM}/{REGION}", True)
    assert (refused["allowed"], refused["blocking"]) == (False, "registry policy")
    assert (unknown["allowed"], unknown["upstream_in_assembly"]) == (True, False)
    assert build_report([downstream])["not_pullers"] == ["EcrRole"]


def test_two_stacks_with_a_registry_policy_in_one_registry_are_flagged() -> None:
    other = stack("Other", CENTRAL, {"Policy": registry_policy(scope="V2")})

    (registry,) = build_report([cache_stack(), other])["registries"]

    assert registry["notes"][0] == (
        "2 registry policies (Central/Policy, Other/Policy): a registry keeps only one, so deploying fails"
    )


def test_all_principals_lists_roles_without_ecr_permissions() -> None:
    idle = stack("App", CENTRAL, {"Idle": role()})

    assert build_report([cache_stack(), idle])["registries"][0]["principals"] == []
    assert build_report([cache_stack(), idle], all_principals=True)["registries"][0]["principals"] == ["Idle"]


def test_logical_ids_shared_by_two_stacks_are_named_with_their_stack() -> None:
    report = build_report(
        [
            workload_stack(TOKEN, identity(PULL)),
            stack("Other", WORKLOAD, {"Exec": role(), "ExecPolicy": policy("Exec", TOKEN)}),
            cache_stack(GRANT_WORKLOAD),
        ]
    )

    assert [p["name"] for p in report["principals"] if p["stack"]] == ["Workload/Exec", "Other/Exec"]


@pytest.mark.parametrize(
    ("selection", "action", "expected"),
    [
        (
            {"tagStatus": "tagged", "tagPrefixList": ["v"], "countType": "imageCountMoreThan", "countNumber": 5},
            None,
            "keep the last 5 images tagged v*",
        ),
        (
            {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14},
            None,
            "expire untagged after 14 days",
        ),
        ({"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 50}, None, "keep the last 50 images"),
        (
            {"tagStatus": "any", "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 30},
            None,
            "expire if not pulled for 30 days",
        ),
        (
            {"tagStatus": "any", "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 90},
            {"type": "transition", "targetStorageClass": "archive"},
            "archive if not pulled for 90 days",
        ),
        (
            {
                "tagStatus": "any",
                "storageClass": "archive",
                "countType": "sinceImageTransitioned",
                "countUnit": "days",
                "countNumber": 1,
            },
            None,
            "expire archived images 1 day after archiving",
        ),
        (
            {"tagStatus": "tagged", "tagPatternList": ["release-*"], "countType": "sinceImagePushed", "countNumber": 7},
            None,
            "expire images tagged release-* after 7 days",
        ),
    ],
)
def test_lifecycle_rules_in_plain_words(
    selection: dict[str, Any], action: dict[str, Any] | None, expected: str
) -> None:
    assert (
        lifecycle_sentence({"rulePriority": 1, "selection": selection, "action": action or {"type": "expire"}})
        == expected
    )
