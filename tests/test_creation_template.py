"""Repository creation templates: rendered settings, the role on demand, and the derived grants."""

import json

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Annotations, Match, Template

from cdk_ecr_ptc import (
    AppliedFor,
    PullThroughCache,
    PullThroughCacheRule,
    RepositoryCreationTemplate,
    RepositorySettings,
    Upstream,
    UpstreamCredentials,
)
from tests.support import as_list, flatten, identity_statements, registry_policy, resources

HUB = UpstreamCredentials.from_secret_complete_arn(
    "arn:aws:secretsmanager:us-east-1:111122223333:secret:ecr-pullthroughcache/hub-AbCdEf"
)

QUAY = "arn:aws:ecr:us-east-1:111122223333:repository/quay/*"
KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def template_props(stack) -> dict:
    (template,) = resources(stack, "AWS::ECR::RepositoryCreationTemplate").values()
    return template["Properties"]


def repository_policy(stack) -> dict:
    return json.loads(flatten(template_props(stack)["RepositoryPolicy"]))


def puller(stack, id="Puller") -> iam.Role:
    return iam.Role(stack, id, assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))


def test_settings_render_every_property(stack):
    PullThroughCacheRule(
        stack,
        "Rule",
        upstream=Upstream.quay(),
        repository_settings=RepositorySettings(
            description="Quay mirror",
            image_tag_mutability=ecr.TagMutability.MUTABLE_WITH_EXCLUSION,
            image_tag_mutability_exclusion_filters=["release-*"],
            encryption=ecr.RepositoryEncryption.AES_256,
            resource_tags={"team": "platform", "cost-center": "42"},
        ),
    )

    props = template_props(stack)
    assert props["Prefix"] == "quay"
    assert props["AppliedFor"] == ["PULL_THROUGH_CACHE"]
    assert props["Description"] == "Quay mirror"
    assert props["ImageTagMutability"] == "MUTABLE_WITH_EXCLUSION"
    assert props["ImageTagMutabilityExclusionFilters"] == [
        {"ImageTagMutabilityExclusionFilterType": "WILDCARD", "ImageTagMutabilityExclusionFilterValue": "release-*"}
    ]
    assert props["EncryptionConfiguration"] == {"EncryptionType": "AES256"}
    assert props["ResourceTags"] == [{"Key": "cost-center", "Value": "42"}, {"Key": "team", "Value": "platform"}]
    assert "RepositoryPolicy" not in props


def test_lifecycle_rules_render_as_cdk_renders_a_repository(stack):
    rules = [
        ecr.LifecycleRule(max_image_count=30),
        ecr.LifecycleRule(tag_status=ecr.TagStatus.UNTAGGED, max_image_age=Duration.days(7), description="u"),
        ecr.LifecycleRule(tag_status=ecr.TagStatus.TAGGED, tag_prefix_list=["v"], max_image_count=3, rule_priority=5),
    ]
    PullThroughCacheRule(
        stack, "Rule", upstream=Upstream.quay(), repository_settings=RepositorySettings(lifecycle_rules=rules)
    )
    ecr.Repository(stack, "Reference", lifecycle_rules=rules)

    (repository,) = resources(stack, "AWS::ECR::Repository").values()
    expected = repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"]
    assert template_props(stack)["LifecyclePolicy"] == expected


def test_lifecycle_shortcuts_keep_the_last_images_and_expire_untagged(stack):
    PullThroughCacheRule(
        stack,
        "Rule",
        upstream=Upstream.quay(),
        repository_settings=RepositorySettings(keep_last_images=20, expire_untagged_after=Duration.days(3)),
    )

    policy = template_props(stack)["LifecyclePolicy"]
    assert len(policy) >= 100
    assert json.loads(policy) == {
        "rules": [
            {
                "rulePriority": 1,
                "description": "Expire untagged images",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countNumber": 3,
                    "countUnit": "days",
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": "Keep the last 20 images",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 20},
                "action": {"type": "expire"},
            },
        ]
    }


def test_kms_key_renders_its_full_arn_and_gets_a_role_with_that_key_only(stack):
    key = kms.Key.from_key_arn(stack, "Key", KEY_ARN)
    PullThroughCacheRule(
        stack, "Rule", upstream=Upstream.quay(), repository_settings=RepositorySettings(encryption_key=key)
    )

    props = template_props(stack)
    assert props["EncryptionConfiguration"] == {"EncryptionType": "KMS", "KmsKey": KEY_ARN}
    assert "CustomRoleArn" in props
    kms_statements = [s for s in identity_statements(stack) if "kms:" in str(s["Action"])]
    assert kms_statements == [
        {"Action": ["kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant"], "Effect": "Allow", "Resource": KEY_ARN}
    ]


def test_key_defined_in_the_stack_lets_the_template_role_use_it(stack):
    key = kms.Key(stack, "Key")
    PullThroughCacheRule(
        stack, "Rule", upstream=Upstream.quay(), repository_settings=RepositorySettings(encryption_key=key)
    )

    key_id = stack.get_logical_id(key.node.default_child)
    assert template_props(stack)["EncryptionConfiguration"] == {
        "EncryptionType": "KMS",
        "KmsKey": {"Fn::GetAtt": [key_id, "Arn"]},
    }
    assert any(s["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]} for s in identity_statements(stack))


def test_tags_get_a_role_trusted_by_ecr_scoped_to_the_prefix(stack):
    PullThroughCacheRule(
        stack, "Rule", upstream=Upstream.quay(), repository_settings=RepositorySettings(resource_tags={"team": "a"})
    )

    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "ecr.amazonaws.com"}}
                ]
            }
        },
    )
    assert identity_statements(stack) == [
        {"Action": ["ecr:CreateRepository", "ecr:TagResource"], "Effect": "Allow", "Resource": QUAY}
    ]
    (role_id,) = resources(stack, "AWS::IAM::Role")
    assert template_props(stack)["CustomRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_replication_template_role_may_replicate(stack):
    RepositoryCreationTemplate(
        stack, "T", prefix="prod", resource_tags={"a": "b"}, applied_for=[AppliedFor.REPLICATION]
    )

    (statement,) = identity_statements(stack)
    assert statement["Action"] == ["ecr:CreateRepository", "ecr:TagResource", "ecr:ReplicateImage"]


@pytest.mark.parametrize(
    "settings",
    [
        RepositorySettings(),
        RepositorySettings(keep_last_images=5, description="d", encryption=ecr.RepositoryEncryption.AES_256),
    ],
)
def test_no_role_without_tags_or_kms(stack, settings):
    PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay(), repository_settings=settings)

    assert resources(stack, "AWS::IAM::Role") == {}
    assert "CustomRoleArn" not in template_props(stack)


def test_given_role_is_used_instead_of_creating_one(stack):
    role = iam.Role(stack, "Mine", assumed_by=iam.ServicePrincipal("ecr.amazonaws.com"))
    rule = PullThroughCacheRule(
        stack,
        "Rule",
        upstream=Upstream.quay(),
        repository_settings=RepositorySettings(resource_tags={"a": "b"}, role=role),
    )

    assert rule.template.role is role
    assert len(resources(stack, "AWS::IAM::Role")) == 1


def test_immutable_pull_through_template_is_warned(stack):
    PullThroughCacheRule(
        stack,
        "Rule",
        upstream=Upstream.quay(),
        repository_settings=RepositorySettings(image_tag_mutability=ecr.TagMutability.IMMUTABLE),
    )

    Annotations.from_stack(stack).has_warning(
        "/Test/Rule/Template", Match.string_like_regexp("IMMUTABLE tags stop pull-through cache from refreshing")
    )


def test_cache_settings_give_every_rule_a_template_and_add_upstream_can_override(stack):
    cache = PullThroughCache(
        stack,
        "Cache",
        upstreams=[Upstream.quay(), Upstream.ecr_public()],
        repository_settings=RepositorySettings(keep_last_images=10),
    )
    cache.add_upstream(Upstream.kubernetes(), repository_settings=RepositorySettings(keep_last_images=99))

    templates = {
        t["Properties"]["Prefix"]: json.loads(t["Properties"]["LifecyclePolicy"])["rules"][0]["selection"][
            "countNumber"
        ]
        for t in resources(stack, "AWS::ECR::RepositoryCreationTemplate").values()
    }
    assert templates == {"quay": 10, "ecr-public": 10, "kubernetes": 99}


def test_cache_root_settings_cover_rules_without_their_own(stack):
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()])
    cache.grant_pull(puller(stack))

    template = cache.add_repository_settings(RepositorySettings(resource_tags={"a": "b"}), prefix="ROOT")

    assert cache.rule("quay").template is template
    (statement,) = [s for s in puller_statements(stack) if s["Resource"] == QUAY]
    assert statement["Action"][-1] == "ecr:TagResource"  # folded into the pull statement of its only rule


def puller_statements(stack) -> list:
    """The statements of the puller's own policy (not the template role's)."""
    return [
        statement
        for logical_id, policy in resources(stack, "AWS::IAM::Policy").items()
        if logical_id.startswith("Puller")
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def tag_resource_statements(stack) -> list:
    return [s for s in identity_statements(stack) if as_list(s["Action"]) == ["ecr:TagResource"]] + [
        s
        for s in (registry_policy(stack)["Statement"] if resources(stack, "AWS::ECR::RegistryPolicy") else [])
        if "ecr:TagResource" in as_list(s["Action"])
    ]


@pytest.mark.parametrize("grant_first", [True, False])
def test_tag_resource_is_granted_exactly_when_the_template_tags(stack, grant_first):
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay(), Upstream.ecr_public()])
    role = puller(stack)
    if grant_first:
        cache.grant_pull(role)
    cache.add_repository_settings(RepositorySettings(resource_tags={"team": "a"}), prefix="quay")
    cache.add_repository_settings(RepositorySettings(keep_last_images=5), prefix="ecr-public")
    if not grant_first:
        cache.grant_pull(role)

    statements = puller_statements(stack)
    assert {"Action": ["ecr:TagResource"], "Effect": "Allow", "Resource": [QUAY]} in statements
    assert [s for s in statements if "ecr:TagResource" in as_list(s["Action"]) and s["Resource"] != [QUAY]] == []


def test_identity_statements_are_the_same_in_either_order():
    def build(grant_first: bool) -> list:
        stack = Stack(App(), "Test", env=Environment(account="111122223333", region="us-east-1"))
        rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay())
        role = puller(stack)
        if grant_first:
            rule.grant_pull_through(role)
        rule.add_repository_settings(RepositorySettings(resource_tags={"a": "b"}))
        if not grant_first:
            rule.grant_pull_through(role)
        return sorted(json.dumps(s, sort_keys=True) for s in identity_statements(stack))

    assert build(True) == build(False)


def test_no_tag_resource_without_tags(stack):
    rule = PullThroughCacheRule(
        stack, "Rule", upstream=Upstream.quay(), repository_settings=RepositorySettings(keep_last_images=5)
    )
    rule.grant_pull(puller(stack))
    rule.grant_pull(iam.AccountPrincipal("222233334444"))

    assert "ecr:TagResource" not in json.dumps(Template.from_stack(stack).to_json())


@pytest.mark.parametrize("grant_first", [True, False])
def test_other_accounts_are_granted_in_registry_and_repository_policies(stack, grant_first):
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay())
    if grant_first:
        rule.grant_pull(iam.AccountPrincipal("222233334444"))
        rule.grant_pull_through(iam.OrganizationPrincipal("o-abc123def4"))
    rule.add_repository_settings(RepositorySettings(resource_tags={"a": "b"}))
    if not grant_first:
        rule.grant_pull(iam.AccountPrincipal("222233334444"))
        rule.grant_pull_through(iam.OrganizationPrincipal("o-abc123def4"))

    assert sorted(repository_policy(stack)["Statement"], key=json.dumps) == sorted(
        [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::222233334444:root"},
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:BatchImportUpstreamImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "ecr:BatchImportUpstreamImage",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}},
            },
        ],
        key=json.dumps,
    )
    statements = registry_policy(stack)["Statement"]
    account = next(s for s in statements if s["Principal"] == {"AWS": "arn:aws:iam::222233334444:root"})
    assert account["Action"] == ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]  # V1: no TagResource
    org = next(s for s in statements if s["Principal"] == {"AWS": "*"})
    assert org["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}}


def test_template_grant_pull_builds_a_repository_policy(stack):
    template = RepositoryCreationTemplate(stack, "T", prefix="quay")

    assert template.grant_pull(iam.AccountPrincipal("222233334444")).success
    (statement,) = repository_policy(stack)["Statement"]
    assert flatten(statement["Principal"]["AWS"]) == "arn:TOKEN:iam::222233334444:root"


def test_standalone_template_with_the_rule_prefix_is_linked_either_way(stack):
    role = puller(stack)
    before = RepositoryCreationTemplate(stack, "Before", prefix="quay", resource_tags={"a": "b"})
    quay = PullThroughCacheRule(stack, "Quay", upstream=Upstream.quay())
    public = PullThroughCacheRule(stack, "Public", upstream=Upstream.ecr_public())
    quay.grant_pull_through(role)
    public.grant_pull_through(role)
    after = RepositoryCreationTemplate(stack, "After", prefix="ecr-public", resource_tags={"a": "b"})

    assert (quay.template, public.template) == (before, after)
    (pull,) = puller_statements(stack)  # every rule tagged: ecr:TagResource folded into the one statement
    assert pull["Action"][-1] == "ecr:TagResource"
    assert sorted(pull["Resource"]) == sorted([QUAY, QUAY.replace("quay", "ecr-public")])


def test_more_specific_template_wins(stack):
    RepositoryCreationTemplate(stack, "Root", prefix="ROOT")
    RepositoryCreationTemplate(stack, "Mirrors", prefix="mirrors")
    specific = RepositoryCreationTemplate(stack, "Quay", prefix="mirrors/quay")

    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay(prefix="mirrors/quay"))

    assert rule.template is specific


def test_replication_only_template_does_not_apply_to_the_cache(stack):
    RepositoryCreationTemplate(
        stack, "T", prefix="quay", applied_for=[AppliedFor.REPLICATION], resource_tags={"a": "b"}
    )

    assert PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay()).template is None


def test_templates_with_the_same_needs_share_one_role(stack):
    PullThroughCache(
        stack,
        "Cache",
        upstreams=[
            Upstream.quay(),
            Upstream.ecr_public(),
            Upstream.kubernetes(),
            Upstream.docker_hub(prefix="hub", credentials=HUB),
        ],
        repository_settings=RepositorySettings(resource_tags={"team": "a"}),
    )

    (role_id,) = resources(stack, "AWS::IAM::Role")
    (policy,) = resources(stack, "AWS::IAM::Policy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert len(statement["Resource"]) == 4
    for template in resources(stack, "AWS::ECR::RepositoryCreationTemplate").values():
        assert template["Properties"]["CustomRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
