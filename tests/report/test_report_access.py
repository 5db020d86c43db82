"""First-pull access of the fixture assembly's principals through each rule."""

from typing import Any

from report_support import principal_of, registry_of

from cdk_ecr_ptc.report import StackArtifact, build_report

AUTH = "ecr:GetAuthorizationToken"
FIRST_PULL_REPO = [
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchImportUpstreamImage",
    "ecr:CreateRepository",
]


def test_role_granted_by_identity_policy_can_pull(ptc, entry) -> None:
    access = entry(ptc, "PullerRole8F9E0D1C", "docker-hub")

    assert access["allowed"] and access["missing"] == [] and access["identity_outside"] == []


def test_identity_grant_on_one_prefix_does_not_cover_another(ptc, entry, missing) -> None:
    access = entry(ptc, "PullerRole8F9E0D1C", "ecr-public")

    assert missing(access)["ecr:CreateRepository"] == "identity" and access["blocking"] == "identity"


def test_role_without_grants_misses_everything(everyone, entry, missing) -> None:
    access = entry(registry_of(everyone, "111122223333/us-east-1"), "IdleRole2B3C4D5E", "ecr-public")

    assert not access["allowed"]
    assert missing(access) == dict.fromkeys([AUTH, *FIRST_PULL_REPO], "identity")


def test_home_account_root_in_registry_policy_is_not_a_principal(ptc) -> None:
    assert "account 111122223333" not in ptc["principals"]


def test_roles_without_an_ecr_permission_are_not_rows(ptc, mirror, report) -> None:
    assert "LonelyUser5EED1234" not in mirror["principals"] and report["hidden"] == ["LonelyUser5EED1234"]


def test_roles_only_lambda_may_assume_are_not_pullers(ptc, report) -> None:
    assert "IdleRole2B3C4D5E" not in ptc["principals"]
    assert report["not_pullers"] == ["TemplateRoleA1B2C3D4", "IdleRole2B3C4D5E"]


def test_explicit_deny_beats_full_access(ptc, entry) -> None:
    access = entry(ptc, "DeniedRole3C4D5E6F", "ecr-public")

    assert not access["allowed"] and access["blocking"] == "explicit deny"
    assert access["missing"] == [
        {
            "action": "ecr:BatchImportUpstreamImage",
            "side": "explicit deny",
            "denied": True,
            "reasons": ["DeniedRole3C4D5E6F inline policy NoUpstreamImport (DenyImport)"],
        }
    ]


def test_registry_policy_grants_create_repository_to_role_by_arn(ptc, entry, missing) -> None:
    assert entry(ptc, "NodeRole4D5E6F70", "ecr-public")["allowed"]
    assert missing(entry(ptc, "NodeRole4D5E6F70", "ROOT")) == {"ecr:CreateRepository": "identity"}


def test_pull_only_managed_policy_lacks_create_repository(ptc, entry, missing) -> None:
    assert set(missing(entry(ptc, "NodeRole4D5E6F70", "docker-hub"))) == {
        "ecr:CreateRepository",
        "ecr:TagResource",
    }


def test_unknown_managed_policy_is_noted(report) -> None:
    node = principal_of(report, "NodeRole4D5E6F70")

    assert node["arn"] == "arn:aws:iam::111122223333:role/eks-node"
    assert node["notes"] == [
        "managed policy arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore is not known to the report: "
        "counted as granting nothing"
    ]


def test_user_gets_group_and_managed_policies(ptc, entry, missing) -> None:
    assert entry(ptc, "CiUser6F708192", "ROOT")["allowed"]
    assert missing(entry(ptc, "CiUser6F708192", "docker-hub")) == {"ecr:TagResource": "identity"}


def test_template_with_tags_requires_tag_resource_only_for_its_rule(ptc, entry) -> None:
    hub = [m["action"] for m in entry(ptc, "anyone (*)", "docker-hub")["missing"]]
    public = [m["action"] for m in entry(ptc, "anyone (*)", "ecr-public")["missing"]]

    assert "ecr:TagResource" in hub and "ecr:TagResource" not in public


def test_cross_account_root_needs_resource_side_and_own_identity(ptc, entry, missing) -> None:
    public = entry(ptc, "account 222233334444", "ecr-public")

    assert public["allowed"]
    assert public["identity_outside"] == [AUTH, *FIRST_PULL_REPO]
    assert missing(entry(ptc, "account 222233334444", "docker-hub"))["ecr:CreateRepository"] == "registry policy"


def test_organization_principal_uses_registry_and_root_template_policies(ptc, entry, missing) -> None:
    assert entry(ptc, "organization o-abcdef1234", "ROOT")["allowed"]
    assert entry(ptc, "organization o-abcdef1234", "ecr-public")["allowed"]
    assert missing(entry(ptc, "organization o-abcdef1234", "docker-hub"))["ecr:BatchGetImage"] == "registry policy"


def test_arn_principal_with_action_wildcard_misses_download(ptc, entry, missing) -> None:
    access = entry(ptc, "arn:aws:iam::333344445555:user/ci-bot", "ecr-public")

    assert missing(access) == {"ecr:GetDownloadUrlForLayer": "registry policy"}


def test_unevaluated_condition_is_given_as_reason(ptc, entry) -> None:
    (batch,) = [m for m in entry(ptc, "anyone (*)", "docker-hub")["missing"] if m["action"] == "ecr:BatchGetImage"]

    assert batch["reasons"] == [
        "registry policy EcrRegistryPolicy (VpcOnly): condition StringEquals aws:SourceVpce not evaluated"
    ]


def test_root_template_covers_rules_without_a_more_specific_template(ptc) -> None:
    rules = {t["logical_id"]: t["rules"] for t in ptc["templates"]}

    assert rules == {"DockerHubTemplate": ["docker-hub"], "RootTemplate": ["ecr-public", "ROOT"]}
    assert [r["probe_repository_arn"] for r in ptc["rules"]] == [
        "arn:aws:ecr:us-east-1:111122223333:repository/docker-hub/probe/image",
        "arn:aws:ecr:us-east-1:111122223333:repository/ecr-public/probe/image",
        "arn:aws:ecr:us-east-1:111122223333:repository/probe/image",
    ]


def test_templates_are_summarized(ptc) -> None:
    hub, root = ptc["templates"]

    assert hub["lifecycle_rules"] == ["expire untagged after 14 days", "keep the last 50 images"]
    assert hub["resource_tags"] == [{"key": "team", "value": "platform"}]
    assert hub["custom_role_arn"] == "GetAtt:TemplateRoleA1B2C3D4.Arn"
    assert root["repository_policy"] == {"statements": 1, "principals": ["*"]}
    assert root["lifecycle_rules"] == ["expire untagged after 7 days"]


def test_environment_agnostic_stack_evaluates_with_placeholders(mirror, entry) -> None:
    assert mirror["account"] is None and mirror["region"] is None and mirror["stacks"] == ["Prod/Mirror"]
    assert (
        mirror["rules"][0]["probe_repository_arn"]
        == "arn:aws:ecr:unknown-region:unknown-account:repository/quay/probe/image"
    )
    assert entry(mirror, "MirrorPullerC0FFEE01", "quay")["allowed"]
    assert "LonelyUser5EED1234" not in mirror["principals"]  # no ECR permission: not a row


def test_unknown_stack_account_treats_known_accounts_as_other_accounts(mirror, entry) -> None:
    tools = entry(mirror, "account 444455556666", "quay")

    assert tools["allowed"]
    assert AUTH in tools["identity_outside"] and "ecr:CreateRepository" in tools["identity_outside"]


def _single_stack(resources: dict[str, Any]) -> dict[str, Any]:
    stack = StackArtifact("S", "aws://111122223333/us-east-1", {"Resources": resources})
    return build_report([stack])["registries"][0]


def test_template_with_tags_but_no_custom_role_is_flagged() -> None:
    template = {
        "Type": "AWS::ECR::RepositoryCreationTemplate",
        "Properties": {
            "Prefix": "p",
            "AppliedFor": ["PULL_THROUGH_CACHE"],
            "ResourceTags": [{"Key": "k", "Value": "v"}],
        },
    }

    (summary,) = _single_stack({"T": template})["templates"]

    assert summary["notes"] == ["uses tags or KMS without CustomRoleArn: ECR fails to create its repositories"]


def test_template_not_applied_to_pull_through_cache_is_not_matched() -> None:
    rule = {"Type": "AWS::ECR::PullThroughCacheRule", "Properties": {"EcrRepositoryPrefix": "p"}}
    template = {
        "Type": "AWS::ECR::RepositoryCreationTemplate",
        "Properties": {"Prefix": "p", "AppliedFor": ["REPLICATION"]},
    }

    stack = _single_stack({"R": rule, "T": template})

    assert stack["rules"][0]["template"] is None and stack["templates"][0]["rules"] == []


def test_two_registry_policies_are_flagged() -> None:
    policy = {"Type": "AWS::ECR::RegistryPolicy", "Properties": {"PolicyText": {"Statement": []}}}

    assert _single_stack({"A": policy, "B": policy})["notes"] == [
        "2 registry policies (S/A, S/B): a registry keeps only one, so deploying fails"
    ]


def test_most_specific_template_wins_over_root_and_shorter_prefixes() -> None:
    def template(prefix: str) -> dict[str, Any]:
        return {
            "Type": "AWS::ECR::RepositoryCreationTemplate",
            "Properties": {"Prefix": prefix, "AppliedFor": ["PULL_THROUGH_CACHE"]},
        }

    rule = {"Type": "AWS::ECR::PullThroughCacheRule", "Properties": {"EcrRepositoryPrefix": "team/hub"}}

    stack = _single_stack({"Root": template("ROOT"), "Team": template("team"), "Hub": template("team/hub"), "R": rule})

    assert stack["rules"][0]["template"] == "Hub"
