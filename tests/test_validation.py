"""Every bad input fails with the construct path, the bad value and the fix, and renders nothing."""

import re

import pytest
from aws_cdk import App, CfnParameter, Duration, Environment, Lazy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Template

from cdk_ecr_ptc import (
    CacheLifecycleRule,
    PullThroughCache,
    PullThroughCacheDeploymentPolicy,
    PullThroughCacheRule,
    RegistryPolicy,
    RegistryPolicyScope,
    RepositoryCreationTemplate,
    RepositorySettings,
    Upstream,
    UpstreamCredentials,
    UpstreamRegistry,
)
from cdk_ecr_ptc._jsii import Producer
from tests.conftest import ACCOUNT, REGION

ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:ecr-pullthroughcache/hub-AbCdEf"
GOOD = UpstreamCredentials.from_secret_complete_arn(ARN)


def rule(stack, upstream, prefix=None, repository_settings=None):
    return PullThroughCacheRule(
        stack, "Rule", upstream=upstream, prefix=prefix, repository_settings=repository_settings
    )


def secret(stack, **kwargs):
    return UpstreamCredentials.from_secret(secretsmanager.Secret(stack, "Secret", **kwargs))


def duplicate_in_cache(stack):
    PullThroughCache(stack, "Cache", upstreams=[Upstream.quay(), Upstream.ecr_public(prefix="quay")])


def token_prefix_in_cache(stack):
    PullThroughCache(stack, "Cache", upstreams=[Upstream.quay(prefix=CfnParameter(stack, "P").value_as_string)])


def ecr_role_of_another_account(stack):
    role = iam.Role.from_role_arn(stack, "Other", "arn:aws:iam::999988887777:role/ptc")
    rule(stack, Upstream.ecr(account="999988887777", region="eu-west-1", role=role))


def settings(stack, **kwargs):
    return rule(stack, Upstream.quay(), repository_settings=RepositorySettings(**kwargs))


def lifecycle(stack, *rules):
    return settings(stack, lifecycle_rules=list(rules))


def settings_twice(stack):
    rule(stack, Upstream.quay()).add_repository_settings(RepositorySettings())
    stack.node.find_child("Rule").add_repository_settings(RepositorySettings())


ANY, TAGGED, UNTAGGED = ecr.TagStatus.ANY, ecr.TagStatus.TAGGED, ecr.TagStatus.UNTAGGED
KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

#: (case id, what to build in the stack, the bad value as printed, a word of the fix)
EAGER = [
    ("prefix-too-short", lambda s: rule(s, Upstream.quay(prefix="q")), "'q'", "2-30"),
    ("prefix-too-long", lambda s: rule(s, Upstream.quay(prefix="q" * 31)), "'" + "q" * 31 + "'", "2-30"),
    ("prefix-uppercase", lambda s: rule(s, Upstream.quay(prefix="Quay")), "'Quay'", "lowercase"),
    ("prefix-bad-character", lambda s: rule(s, Upstream.quay(prefix="quay!")), "'quay!'", "lowercase"),
    ("prefix-leading-separator", lambda s: rule(s, Upstream.quay(prefix="-quay")), "'-quay'", "separators"),
    ("prefix-double-slash", lambda s: rule(s, Upstream.quay(prefix="a//b")), "'a//b'", "path segments"),
    ("prefix-rule-argument", lambda s: rule(s, Upstream.quay(), prefix="UP"), "'UP'", "lowercase"),
    ("root-on-non-ecr-upstream", lambda s: rule(s, Upstream.quay(prefix="ROOT")), "'quay'", "ECR-to-ECR"),
    (
        "root-with-upstream-prefix",
        lambda s: rule(
            s, Upstream.ecr(account=ACCOUNT, region="eu-west-1", upstream_repository_prefix="team", prefix="ROOT")
        ),
        "'team'",
        "ROOT",
    ),
    (
        "upstream-prefix-invalid",
        lambda s: rule(s, Upstream.ecr(account=ACCOUNT, region="eu-west-1", upstream_repository_prefix="Team")),
        "'Team'",
        "lowercase",
    ),
    ("cache-token-prefix", token_prefix_in_cache, "'${Token[", "literal prefix"),
    ("cache-duplicate-prefix", duplicate_in_cache, "'quay'", "another prefix"),
    (
        "cache-duplicate-prefix-with-slash",
        lambda s: PullThroughCache(s, "Cache", upstreams=[Upstream.quay(), Upstream.ecr_public(prefix="quay/")]),
        "'quay/'",
        "another prefix",
    ),
    ("prefix-trailing-newline", lambda s: rule(s, Upstream.quay(prefix="quay\n")), "'quay\\n'", "lowercase"),
    (
        "ecr-account-trailing-newline",
        lambda s: rule(s, Upstream.ecr(account=ACCOUNT + "\n", region="eu-west-1")),
        "'111122223333\\n'",
        "12-digit",
    ),
    (
        "docker-hub-without-credentials",
        lambda s: rule(s, Upstream.docker_hub(credentials=None)),
        "None",
        "credentials=",
    ),
    ("github-without-credentials", lambda s: rule(s, Upstream.github(credentials=None)), "None", "credentials="),
    ("gitlab-without-credentials", lambda s: rule(s, Upstream.gitlab(credentials=None)), "None", "credentials="),
    (
        "azure-without-credentials",
        lambda s: rule(s, Upstream.azure(registry_name="myregistry", credentials=None)),
        "None",
        "credentials=",
    ),
    (
        "chainguard-without-credentials",
        lambda s: rule(s, Upstream.chainguard(credentials=None)),
        "None",
        "credentials=",
    ),
    (
        "ecr-public-with-credentials",
        lambda s: rule(
            s, Upstream.of(UpstreamRegistry.ECR_PUBLIC, url="public.ecr.aws", prefix="ecr-public", credentials=GOOD)
        ),
        "'ecr-public'",
        "Remove credentials",
    ),
    (
        "quay-with-credentials",
        lambda s: rule(s, Upstream.of(UpstreamRegistry.QUAY, url="quay.io", prefix="quay", credentials=GOOD)),
        "'quay'",
        "Remove credentials",
    ),
    (
        "k8s-with-credentials",
        lambda s: rule(
            s, Upstream.of(UpstreamRegistry.KUBERNETES, url="registry.k8s.io", prefix="k8s", credentials=GOOD)
        ),
        "'k8s'",
        "Remove credentials",
    ),
    (
        "ecr-with-credentials",
        lambda s: rule(s, Upstream.of(UpstreamRegistry.ECR, url="x", prefix="ecr", credentials=GOOD)),
        "'ecr'",
        "use a role",
    ),
    (
        "secret-name-without-prefix",
        lambda s: rule(s, Upstream.docker_hub(credentials=secret(s, secret_name="dockerhub"))),
        "'dockerhub'",
        "ecr-pullthroughcache/dockerhub",
    ),
    ("secret-generated-name", lambda s: rule(s, Upstream.docker_hub(credentials=secret(s))), "None", "secret_name="),
    (
        "secret-by-name-without-prefix",
        lambda s: rule(s, Upstream.docker_hub(credentials=UpstreamCredentials.from_secret_name("hub"))),
        "'hub'",
        "Rename",
    ),
    (
        "secret-by-arn-without-prefix",
        lambda s: rule(
            s,
            Upstream.docker_hub(
                credentials=UpstreamCredentials.from_secret_complete_arn(
                    "arn:aws:secretsmanager:us-east-1:111122223333:secret:hub-AbCdEf"
                )
            ),
        ),
        "'hub'",
        "Rename",
    ),
    (
        "secret-in-another-account",
        lambda s: rule(
            s,
            Upstream.docker_hub(
                credentials=UpstreamCredentials.from_secret_complete_arn(ARN.replace(ACCOUNT, "999988887777"))
            ),
        ),
        "'999988887777'",
        "account 111122223333",
    ),
    (
        "secret-in-another-region",
        lambda s: rule(
            s,
            Upstream.docker_hub(
                credentials=UpstreamCredentials.from_secret_complete_arn(ARN.replace(REGION, "eu-west-1"))
            ),
        ),
        "'eu-west-1'",
        "region us-east-1",
    ),
    (
        "secret-with-customer-managed-key",
        lambda s: rule(
            s,
            Upstream.docker_hub(
                credentials=secret(s, secret_name="ecr-pullthroughcache/hub", encryption_key=kms.Key(s, "Key"))
            ),
        ),
        "'Test/Key'",
        "aws/secretsmanager",
    ),
    (
        "new-secret-name-already-prefixed",
        lambda s: UpstreamCredentials.new_secret(s, "S", name="ecr-pullthroughcache/hub", username="u"),
        "'ecr-pullthroughcache/hub'",
        "part after",
    ),
    (
        "role-on-non-ecr-upstream",
        lambda s: rule(
            s,
            Upstream.of(UpstreamRegistry.QUAY, url="quay.io", prefix="quay", role=iam.Role.from_role_name(s, "R", "r")),
        ),
        "'quay'",
        "Upstream.ecr",
    ),
    (
        "upstream-prefix-invalid-on-non-ecr-upstream",
        lambda s: rule(
            s, Upstream.of(UpstreamRegistry.QUAY, url="quay.io", prefix="quay", upstream_repository_prefix="Team")
        ),
        "'Team'",
        "lowercase",
    ),
    (
        "azure-name-uppercase",
        lambda s: rule(s, Upstream.azure(registry_name="MyRegistry", credentials=GOOD)),
        "'MyRegistry'",
        "5-50 lowercase",
    ),
    (
        "azure-name-too-short",
        lambda s: rule(s, Upstream.azure(registry_name="acr", credentials=GOOD)),
        "'acr'",
        "5-50 lowercase",
    ),
    (
        "azure-login-server-given",
        lambda s: rule(s, Upstream.azure(registry_name="myregistry.azurecr.io", credentials=GOOD)),
        "'myregistry.azurecr.io'",
        "not the login server",
    ),
    (
        "ecr-account-not-12-digits",
        lambda s: rule(s, Upstream.ecr(account="1234", region="eu-west-1")),
        "'1234'",
        "12-digit",
    ),
    (
        "ecr-region-not-a-region",
        lambda s: rule(s, Upstream.ecr(account=ACCOUNT, region="Europe")),
        "'Europe'",
        "us-east-1",
    ),
    (
        "ecr-role-in-another-account",
        ecr_role_of_another_account,
        "'a role of account 999988887777'",
        "account 111122223333",
    ),
    (
        "image-uri-tag-and-digest",
        lambda s: rule(s, Upstream.quay()).image_uri("a", tag="1", digest="sha256:0"),
        "('1', 'sha256:0')",
        "only one",
    ),
    (
        "template-prefix-not-a-rule",
        lambda s: PullThroughCache(s, "Cache", upstreams=[Upstream.quay()]).add_repository_settings(
            RepositorySettings(), prefix="docker-hub"
        ),
        "'docker-hub'",
        "['quay', 'ROOT']",
    ),
    ("template-settings-twice", settings_twice, "'quay'", "one RepositorySettings"),
    ("template-prefix-invalid", lambda s: RepositoryCreationTemplate(s, "T", prefix="Prod"), "'Prod'", "lowercase"),
    (
        "template-applied-for-empty",
        lambda s: RepositoryCreationTemplate(s, "T", prefix="p", applied_for=[]),
        "[]",
        "distinct AppliedFor",
    ),
    ("template-description-too-long", lambda s: settings(s, description="d" * 257), "257", "Shorten"),
    (
        "lifecycle-priority-clash",
        lambda s: lifecycle(
            s,
            ecr.LifecycleRule(tag_status=UNTAGGED, max_image_count=1, rule_priority=1),
            ecr.LifecycleRule(tag_status=TAGGED, tag_prefix_list=["v"], max_image_count=1, rule_priority=1),
        ),
        "[1, 1]",
        "its own rule_priority",
    ),
    (
        "lifecycle-any-not-last",
        lambda s: lifecycle(
            s,
            ecr.LifecycleRule(max_image_count=5, rule_priority=1),
            ecr.LifecycleRule(tag_status=UNTAGGED, max_image_count=1, rule_priority=2),
        ),
        "1",
        "priority above 2",
    ),
    (
        "lifecycle-count-and-age",
        lambda s: lifecycle(s, ecr.LifecycleRule(max_image_count=5, max_image_age=Duration.days(3))),
        "('3 days', 5)",
        "two rules",
    ),
    (
        "lifecycle-neither-count-nor-age",
        lambda s: lifecycle(s, ecr.LifecycleRule(tag_status=UNTAGGED)),
        "(None, None)",
        "two rules",
    ),
    (
        "lifecycle-two-any-rules",
        lambda s: lifecycle(s, ecr.LifecycleRule(max_image_count=5), ecr.LifecycleRule(max_image_age=Duration.days(9))),
        "2",
        "Merge the ANY rules",
    ),
    (
        "lifecycle-tagged-without-list",
        lambda s: lifecycle(s, ecr.LifecycleRule(tag_status=TAGGED, max_image_count=1)),
        "None",
        "tag_prefix_list",
    ),
    (
        "lifecycle-list-without-tagged",
        lambda s: lifecycle(s, ecr.LifecycleRule(tag_status=UNTAGGED, tag_prefix_list=["v"], max_image_count=1)),
        "'untagged'",
        "TagStatus.TAGGED",
    ),
    (
        "lifecycle-prefix-and-pattern",
        lambda s: lifecycle(s, ecr.LifecycleRule(tag_prefix_list=["v"], tag_pattern_list=["v*"], max_image_count=1)),
        "(['v'], ['v*'])",
        "Keep one",
    ),
    (
        "lifecycle-five-wildcards",
        lambda s: lifecycle(s, ecr.LifecycleRule(tag_pattern_list=["a*b*c*d*e*"], max_image_count=1)),
        "'a*b*c*d*e*'",
        "at most four",
    ),
    (
        "lifecycle-prioritized-any-with-unprioritized",
        lambda s: lifecycle(
            s,
            ecr.LifecycleRule(max_image_count=5, rule_priority=9),
            ecr.LifecycleRule(tag_status=UNTAGGED, max_image_count=1),
        ),
        "9",
        "Remove rule_priority",
    ),
    ("lifecycle-count-zero", lambda s: settings(s, keep_last_images=0), "0", "at least one"),
    (
        "lifecycle-age-under-a-day",
        lambda s: settings(s, expire_untagged_after=Duration.hours(5)),
        "'5 hours'",
        "whole days",
    ),
    (
        "lifecycle-age-not-whole-days",
        lambda s: settings(s, expire_untagged_after=Duration.hours(36)),
        "'1 day 12 hours'",
        "whole days",
    ),
    (
        "lifecycle-over-50-rules",
        lambda s: lifecycle(
            *[s]
            + [ecr.LifecycleRule(tag_status=TAGGED, tag_prefix_list=[f"v{i}"], max_image_count=1) for i in range(51)]
        ),
        "51",
        "Merge",
    ),
    (
        "template-over-50-tags",
        lambda s: settings(s, resource_tags={f"k{i}": "v" for i in range(51)}),
        "51",
        "Remove tags",
    ),
    (
        "template-tag-key-too-long",
        lambda s: settings(s, resource_tags={"k" * 129: "v"}),
        "'" + "k" * 129 + "'",
        "Shorten the tag",
    ),
    (
        "filters-without-exclusion-mutability",
        lambda s: settings(
            s, image_tag_mutability=ecr.TagMutability.MUTABLE, image_tag_mutability_exclusion_filters=["v*"]
        ),
        "'MUTABLE'",
        "MUTABLE_WITH_EXCLUSION",
    ),
    (
        "exclusion-mutability-without-filters",
        lambda s: settings(s, image_tag_mutability=ecr.TagMutability.IMMUTABLE_WITH_EXCLUSION),
        "[]",
        "1-5 wildcard filters",
    ),
    (
        "more-than-5-filters",
        lambda s: settings(
            s,
            image_tag_mutability=ecr.TagMutability.MUTABLE_WITH_EXCLUSION,
            image_tag_mutability_exclusion_filters=[f"v{i}*" for i in range(6)],
        ),
        "6",
        "Merge filters",
    ),
    (
        "filter-bad-pattern",
        lambda s: settings(
            s,
            image_tag_mutability=ecr.TagMutability.MUTABLE_WITH_EXCLUSION,
            image_tag_mutability_exclusion_filters=["v 1"],
        ),
        "'v 1'",
        "Fix the pattern",
    ),
    (
        "kms-dsse-outside-govcloud",
        lambda s: settings(
            s, encryption=ecr.RepositoryEncryption.KMS_DSSE, encryption_key=kms.Key.from_key_arn(s, "K", KEY)
        ),
        "'us-east-1'",
        "RepositoryEncryption.KMS",
    ),
    (
        "aes256-with-a-key",
        lambda s: settings(
            s, encryption=ecr.RepositoryEncryption.AES_256, encryption_key=kms.Key.from_key_arn(s, "K", KEY)
        ),
        "'AES256'",
        "remove encryption_key",
    ),
    ("kms-without-a-key", lambda s: settings(s, encryption=ecr.RepositoryEncryption.KMS), "None", "Pass the kms.IKey"),
    (
        "kms-alias-instead-of-key",
        lambda s: settings(s, encryption_key=kms.Alias(s, "A", alias_name="alias/ecr", target_key=kms.Key(s, "K"))),
        "'Test/A'",
        "target key",
    ),
    (
        "kms-key-not-a-key-arn",
        lambda s: settings(
            s, encryption_key=kms.Key.from_key_arn(s, "K", "arn:aws:kms:us-east-1:111122223333:alias/ecr")
        ),
        "'arn:aws:kms:us-east-1:111122223333:alias/ecr'",
        "full key ARN",
    ),
    (
        "import-bad-account",
        lambda s: PullThroughCache.from_cache_attributes(s, "Central", account="12", region=REGION, prefixes=["quay"]),
        "'12'",
        "12-digit",
    ),
    (
        "import-bad-prefix",
        lambda s: PullThroughCache.from_cache_attributes(
            s, "Central", account=ACCOUNT, region=REGION, prefixes=["Quay"]
        ),
        "'Quay'",
        "lowercase",
    ),
    (
        "import-docker-hub-prefix-unknown",
        lambda s: PullThroughCache.from_cache_attributes(
            s, "Central", account=ACCOUNT, region=REGION, prefixes=["quay"], docker_hub_prefixes=["hub"]
        ),
        "['hub']",
        "Add them to prefixes",
    ),
    (
        "validate-after-deploy-without-credentials",
        lambda s: rule(s, Upstream.of(UpstreamRegistry.QUAY, url="quay.io", prefix="quay", validate_after_deploy=True)),
        "'quay'",
        "Remove validate_after_deploy",
    ),
    (
        "cache-unknown-rule",
        lambda s: PullThroughCache(s, "Cache", upstreams=[Upstream.quay()]).rule("hub"),
        "'hub'",
        "['quay']",
    ),
]


@pytest.mark.parametrize(("build", "value", "fix"), [c[1:] for c in EAGER], ids=[c[0] for c in EAGER])
def test_fails_eagerly_naming_path_value_and_fix(stack, build, value, fix):
    with pytest.raises(ValueError) as error:
        build(stack)

    message = str(error.value)
    assert re.match(r"^\[Test(/[^\]]+)?\] ", message), message
    assert f"got {value}" in message
    assert fix in message


def test_root_is_the_only_uppercase_prefix(stack):
    assert rule(stack, Upstream.ecr(account=ACCOUNT, region="eu-west-1", prefix="ROOT")).prefix == "ROOT"
    with pytest.raises(ValueError, match="got 'Root'"):
        PullThroughCacheRule(stack, "Other", upstream=Upstream.quay(prefix="Root"))


@pytest.mark.parametrize("region", ["cn-north-1", "cn-northwest-1", "us-gov-east-1", "us-gov-west-1"])
def test_fails_in_regions_without_pull_through_cache(region):
    stack = Stack(App(), "Test", env=Environment(account=ACCOUNT, region=region))

    with pytest.raises(ValueError, match=rf"^\[Test/Rule\] .* region: got '{region}'\. .*commercial"):
        rule(stack, Upstream.quay())


def two_caches_one_prefix(app):
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))
    PullThroughCache(stack, "A", upstreams=[Upstream.quay()])
    PullThroughCache(stack, "B", upstreams=[Upstream.quay()])


def two_stacks_one_prefix(app):
    for name in ("One", "Two"):
        stack = Stack(app, name, env=Environment(account=ACCOUNT, region=REGION))
        PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()])


def fifty_one_rules_over_two_stacks(app):
    for name, start in (("One", 0), ("Two", 30)):
        stack = Stack(app, name, env=Environment(account=ACCOUNT, region=REGION))
        PullThroughCache(
            stack, "Cache", upstreams=[Upstream.quay(prefix=f"q{i:02d}") for i in range(start, start + 30)]
        )


def two_registry_policies(app):
    for name in ("One", "Two"):
        stack = Stack(app, name, env=Environment(account=ACCOUNT, region=REGION))
        PullThroughCache(stack, "Cache", upstreams=[Upstream.quay(prefix=f"quay-{name.lower()}")]).grant_pull(
            iam.AccountPrincipal("222233334444")
        )


def oversized_registry_policy(app):
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))
    cache = PullThroughCache(
        stack,
        "Cache",
        upstreams=[Upstream.quay(prefix=f"q{i:02d}") for i in range(40)],
        registry_policy_scope=RegistryPolicyScope.V2,
    )
    for index in range(40):
        cache.rule(f"q{index:02d}").grant_pull(iam.ArnPrincipal(f"arn:aws:iam::222233334444:role/r{index}"))


def duplicate_templates(app):
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))
    RepositoryCreationTemplate(stack, "A", prefix="quay")
    RepositoryCreationTemplate(stack, "B", prefix="quay")


def oversized_repository_policy(app):
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))
    template = RepositoryCreationTemplate(stack, "T", prefix="quay")
    for index in range(200):
        template.grant_pull(iam.ArnPrincipal(f"arn:aws:iam::222233334444:role/some-long-role-name-{index:03d}"))


def open_registry_policy(app):
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))
    PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()]).grant_pull(iam.AnyPrincipal())


def open_repository_policy(app):
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))
    RepositoryCreationTemplate(stack, "T", prefix="quay").grant_pull(iam.StarPrincipal())


LATE = [
    (
        "registry-policy-open-to-everyone",
        open_registry_policy,
        r"\[Test/EcrRegistryPolicy\] the registry policy "
        r"would allow any AWS account: .*OrganizationPrincipal",
    ),
    (
        "repository-policy-open-to-everyone",
        open_repository_policy,
        r"\[Test/T\] the repository policy would allow "
        r"any AWS account",
    ),
    (
        "duplicate-template-prefix",
        duplicate_templates,
        r"several creation templates with the prefix 'quay' .*: got "
        r"Test/A \(stack Test, prefix 'quay'\); Test/B ",
    ),
    (
        "repository-policy-over-10240",
        oversized_repository_policy,
        r"\[Test/T\] the repository policy would be "
        r"\d+ characters; ECR allows 10240",
    ),
    (
        "duplicate-prefix-across-caches",
        two_caches_one_prefix,
        r"several rules with the prefix 'quay' .*: got "
        r"Test/A/quay \(stack Test, prefix 'quay'\); "
        r"Test/B/quay .*keep one",
    ),
    (
        "duplicate-prefix-across-stacks",
        two_stacks_one_prefix,
        r"account 111122223333, region us-east-1 has several "
        r"rules with the prefix 'quay' .*: got One/Cache/quay "
        r"\(stack One, prefix 'quay'\); Two/Cache/quay "
        r"\(stack Two",
    ),
    (
        "more-than-50-rules-per-registry",
        fifty_one_rules_over_two_stacks,
        r"has 60 pull-through cache rules "
        r"across the app: got One/Cache/q00 \(stack "
        r"One, prefix 'q00'\).*\(stack Two, prefix "
        r"'q59'\)\. ECR allows 50",
    ),
    (
        "two-registry-policies-per-registry",
        two_registry_policies,
        r"registry policy from several stacks: got "
        r"One/EcrRegistryPolicy \(stack One\); "
        r"Two/EcrRegistryPolicy \(stack Two\)",
    ),
    (
        "registry-policy-over-10240",
        oversized_registry_policy,
        r"\[Test/EcrRegistryPolicy\] the registry policy "
        r"would be \d+ characters; ECR allows 10240\. "
        r".*OrganizationPrincipal",
    ),
]


@pytest.mark.parametrize(("build", "pattern"), [c[1:] for c in LATE], ids=[c[0] for c in LATE])
def test_fails_at_synth_naming_paths_and_fix(build, pattern):
    app = App()
    build(app)

    with pytest.raises(RuntimeError, match="ValidationFailedWithErrors") as error:
        app.synth()

    assert re.search(pattern, str(error.value)), str(error.value)


def test_tokens_pass_every_check(stack):
    account = CfnParameter(stack, "Account").value_as_string
    region = Lazy.string(Producer(lambda: "eu-west-1"))
    name = CfnParameter(stack, "AzureName").value_as_string
    prefix = CfnParameter(stack, "Prefix").value_as_string

    PullThroughCacheRule(
        stack,
        "Ecr",
        upstream=Upstream.ecr(account=account, region=region, upstream_repository_prefix=prefix),
        prefix="mirror",
    )
    PullThroughCacheRule(stack, "Azure", upstream=Upstream.azure(registry_name=name, credentials=GOOD))
    PullThroughCacheRule(stack, "Quay", upstream=Upstream.quay(), prefix=prefix)

    assert len(Template.from_stack(stack).find_resources("AWS::ECR::PullThroughCacheRule")) == 3


def test_failed_input_leaves_no_rule(stack):
    with pytest.raises(ValueError):
        rule(stack, Upstream.quay(prefix="Q"))

    assert stack.node.try_find_child("Rule").node.try_find_child("Resource") is None


# ---- issue 11: principals and ARNs that cannot deploy, names and tags, wrong types and shapes ----------------

SUFFIXED = "arn:aws:secretsmanager:us-east-1:111122223333:secret:ecr-pullthroughcache/hub"


def cache(stack, *upstreams):
    return PullThroughCache(stack, "Cache", upstreams=list(upstreams) or [Upstream.quay()])


#: (case id, what to build, the construct path named, the bad value as printed, a verb of the fix)
REJECTED = [
    # §2 principals and ARNs that cannot deploy
    (
        "account-principal-not-12-digits",
        lambda s: cache(s).grant_pull(iam.AccountPrincipal("12345")),
        "Test/Cache",
        "'12345'",
        "Use",
    ),
    (
        "arn-principal-not-an-iam-arn",
        lambda s: cache(s).grant_pull(iam.ArnPrincipal("arn:aws:s3:::my-bucket")),
        "Test/Cache",
        "'arn:aws:s3:::my-bucket'",
        "Use",
    ),
    (
        "arn-principal-group",
        lambda s: cache(s).grant_pull(iam.ArnPrincipal(f"arn:aws:iam::{ACCOUNT}:group/devs")),
        "Test/Cache",
        f"'arn:aws:iam::{ACCOUNT}:group/devs'",
        "Use",
    ),
    (
        "downstream-cache-account-not-12-digits",
        lambda s: RegistryPolicy.of(s).grant_downstream_cache("1234"),
        "Test/EcrRegistryPolicy",
        "'1234'",
        "Use",
    ),
    (
        "downstream-cache-prefix-uppercase",
        lambda s: RegistryPolicy.of(s).grant_downstream_cache("222233334444", repository_prefix="Team"),
        "Test/EcrRegistryPolicy",
        "'Team'",
        "Use",
    ),
    (
        "import-in-unsupported-region",
        lambda s: PullThroughCache.from_cache_attributes(
            s, "Central", account=ACCOUNT, region="cn-north-1", prefixes=["quay"]
        ),
        "Test/Central",
        "'cn-north-1'",
        "Import",
    ),
    (
        "ecr-upstream-is-the-cache-itself",
        lambda s: rule(s, Upstream.ecr(account=ACCOUNT, region=REGION)),
        "Test/Rule",
        f"'{ACCOUNT}/{REGION}'",
        "Point",
    ),
    (
        "ecr-upstream-in-another-partition",
        lambda s: rule(s, Upstream.ecr(account="999988887777", region="cn-north-1")),
        "Test/Rule",
        "'cn-north-1'",
        "Use",
    ),
    (
        "ecr-region-unknown-to-cdk",
        lambda s: rule(s, Upstream.ecr(account="999988887777", region="eu-west-9")),
        "Test/Rule",
        "'eu-west-9'",
        "Use",
    ),
    # issue 9 item 7: Upstream.of checks the registry and URL pair
    (
        "of-docker-hub-with-docker-io",
        lambda s: rule(s, Upstream.of(UpstreamRegistry.DOCKER_HUB, url="docker.io", prefix="hub", credentials=GOOD)),
        "Test/Rule",
        "'docker.io'",
        "Use",
    ),
    (
        "of-github-with-a-scheme",
        lambda s: rule(s, Upstream.of(UpstreamRegistry.GITHUB, url="https://ghcr.io", prefix="gh", credentials=GOOD)),
        "Test/Rule",
        "'https://ghcr.io'",
        "Give",
    ),
    (
        "of-quay-with-the-k8s-host",
        lambda s: rule(s, Upstream.of(UpstreamRegistry.QUAY, url="registry.k8s.io", prefix="quay")),
        "Test/Rule",
        "'registry.k8s.io'",
        "Use",
    ),
    (
        "of-self-managed-gitlab",
        lambda s: rule(
            s, Upstream.of(UpstreamRegistry.GITLAB, url="gitlab.example.com", prefix="gl", credentials=GOOD)
        ),
        "Test/Rule",
        "'gitlab.example.com'",
        "Use",
    ),
    (
        "of-azure-not-an-azurecr-host",
        lambda s: rule(
            s, Upstream.of(UpstreamRegistry.AZURE, url="myregistry.example.com", prefix="az", credentials=GOOD)
        ),
        "Test/Rule",
        "'myregistry.example.com'",
        "Give",
    ),
    (
        "of-ecr-not-an-ecr-host",
        lambda s: rule(s, Upstream.of(UpstreamRegistry.ECR, url="registry.example.com", prefix="ecr")),
        "Test/Rule",
        "'registry.example.com'",
        "Use",
    ),
    (
        "of-ecr-with-a-token-url",
        lambda s: rule(s, Upstream.of(UpstreamRegistry.ECR, url=CfnParameter(s, "Url").value_as_string, prefix="ecr")),
        "Test/Rule",
        "'${Token[",
        "Use",
    ),
    (
        "of-ecr-wrong-domain",
        lambda s: rule(
            s, Upstream.of(UpstreamRegistry.ECR, url="999988887777.dkr.ecr.eu-west-1.amazonaws.com.cn", prefix="ecr")
        ),
        "Test/Rule",
        "'999988887777.dkr.ecr.eu-west-1.amazonaws.com.cn'",
        "Use",
    ),
    (
        "of-unknown-registry",
        lambda s: Upstream.of("dockerhub", url="registry-1.docker.io", prefix="hub"),
        "Upstream.of",
        "'dockerhub'",
        "Use one of",
    ),
    # §3 names and tags
    (
        "new-secret-name-with-a-space",
        lambda s: UpstreamCredentials.new_secret(s, "S", name="docker hub", username="u"),
        "Test",
        "'ecr-pullthroughcache/docker hub'",
        "Use",
    ),
    (
        "new-secret-name-with-a-newline",
        lambda s: UpstreamCredentials.new_secret(s, "S", name="hub\n", username="u"),
        "Test",
        "'ecr-pullthroughcache/hub\\n'",
        "Use",
    ),
    (
        "new-secret-name-empty",
        lambda s: UpstreamCredentials.new_secret(s, "S", name="", username="u"),
        "Test",
        "''",
        "Give",
    ),
    (
        "secret-by-name-with-a-space",
        lambda s: rule(
            s, Upstream.docker_hub(credentials=UpstreamCredentials.from_secret_name("ecr-pullthroughcache/docker hub"))
        ),
        "Test/Rule",
        "'ecr-pullthroughcache/docker hub'",
        "Use",
    ),
    (
        "secret-by-name-given-an-arn",
        lambda s: UpstreamCredentials.from_secret_name(ARN),
        "UpstreamCredentials.from_secret_name",
        repr(ARN),
        "Use UpstreamCredentials.from_secret_complete_arn",
    ),
    (
        "secret-by-incomplete-arn",
        lambda s: UpstreamCredentials.from_secret_complete_arn(SUFFIXED),
        "UpstreamCredentials.from_secret_complete_arn",
        repr(SUFFIXED),
        "Give",
    ),
    (
        "template-tag-key-reserved",
        lambda s: settings(s, resource_tags={"aws:team": "platform"}),
        "Test/Rule/Template",
        "'aws:team'",
        "Rename",
    ),
    # §4 wrong types and shapes
    ("prefix-not-a-string", lambda s: rule(s, Upstream.quay(prefix=42)), "Test/Rule", "42", "Pass"),
    ("prefix-none-on-a-standalone-rule", lambda s: rule(s, Upstream.quay(prefix=None)), "Test/Rule", "None", "Pass"),
    (
        "upstreams-not-a-list",
        lambda s: PullThroughCache(s, "Cache", upstreams=Upstream.quay()),
        "Test/Cache",
        "<cdk_ecr_ptc.upstream.Upstream",
        "Pass",
    ),
    ("grant-pull-none", lambda s: cache(s).grant_pull(None), "Test/Cache", "'NoneType'", "Pass"),
    (
        "credentials-not-credentials",
        lambda s: rule(s, Upstream.docker_hub(credentials=ARN)),
        "Test/Rule",
        repr(ARN),
        "Pass",
    ),
    (
        "from-secret-given-a-name",
        lambda s: UpstreamCredentials.from_secret("ecr-pullthroughcache/hub"),
        "UpstreamCredentials.from_secret",
        "'ecr-pullthroughcache/hub'",
        "Pass",
    ),
    (
        "validate-after-deploy-not-a-bool",
        lambda s: rule(s, Upstream.docker_hub(credentials=GOOD, validate_after_deploy="yes")),
        "Test/Rule",
        "'yes'",
        "Pass",
    ),
    (
        "ecr-account-not-a-string",
        lambda s: rule(s, Upstream.ecr(account=999988887777, region="eu-west-1")),
        "Test/Rule",
        "999988887777",
        "Pass",
    ),
    (
        "rule-upstream-not-an-upstream",
        lambda s: PullThroughCacheRule(s, "Rule", upstream="quay"),
        "Test/Rule",
        "'quay'",
        "Use",
    ),
    (
        "import-prefixes-a-string",
        lambda s: PullThroughCache.from_cache_attributes(s, "Central", account=ACCOUNT, region=REGION, prefixes="quay"),
        "Test/Central",
        "'quay'",
        "Pass",
    ),
    (
        "template-grant-pull-none",
        lambda s: RepositoryCreationTemplate(s, "T", prefix="p").grant_pull(None),
        "Test/T",
        "'NoneType'",
        "Pass",
    ),
    (
        "template-resource-tags-a-list",
        lambda s: settings(s, resource_tags=["team"]),
        "Test/Rule/Template",
        "['team']",
        "Pass",
    ),
    (
        "template-mutability-a-string",
        lambda s: settings(s, image_tag_mutability="MUTABLE"),
        "Test/Rule/Template",
        "'MUTABLE'",
        "Use",
    ),
    ("template-expiry-a-number", lambda s: settings(s, expire_untagged_after=14), "Test/Rule/Template", "14", "Pass"),
    (
        "cache-settings-not-settings",
        lambda s: PullThroughCache(
            s, "Cache", upstreams=[Upstream.quay()], repository_settings={"keep_last_images": 5}
        ),
        "Test/Cache",
        "{'keep_last_images': 5}",
        "Pass",
    ),
    (
        "deployment-policy-stack-a-string",
        lambda s: PullThroughCacheDeploymentPolicy(s, "Policy", cache_stack="Cache"),
        "Test/Policy",
        "'Cache'",
        "Pass",
    ),
    ("cache-add-upstream-none", lambda s: PullThroughCache(s, "Cache").add_upstream(None), "Test/Cache", "None", "Use"),
    (
        "cache-warm-a-string",
        lambda s: cache(s).warm("quay.io/prometheus/prometheus:v2.53.0"),
        "Test/Cache",
        "'quay.io/prometheus/prometheus:v2.53.0'",
        "Pass",
    ),
    (
        "registry-policy-statement-none",
        lambda s: RegistryPolicy.of(s).add_to_resource_policy(None),
        "Test/EcrRegistryPolicy",
        "None",
        "Pass",
    ),
    (
        "template-statement-none",
        lambda s: RepositoryCreationTemplate(s, "T", prefix="p").add_to_resource_policy(None),
        "Test/T",
        "None",
        "Pass",
    ),
    ("template-encryption-a-string", lambda s: settings(s, encryption="KMS"), "Test/Rule/Template", "'KMS'", "Use"),
    (
        "cache-add-repository-settings-none",
        lambda s: cache(s).add_repository_settings(None, prefix="quay"),
        "Test/Cache",
        "None",
        "Pass",
    ),
    (
        "rule-add-repository-settings-none",
        lambda s: rule(s, Upstream.quay()).add_repository_settings(None),
        "Test/Rule",
        "None",
        "Pass",
    ),
    ("cache-scope-none", lambda s: PullThroughCache(None, "Cache"), "PullThroughCache", "None", "Pass"),
    ("rule-id-a-number", lambda s: PullThroughCacheRule(s, 7, upstream=Upstream.quay()), "Test", "7", "Pass"),
    (
        "warm-concurrency-a-string",
        lambda s: cache(s).warm(["quay.io/a/b:1"], concurrency="2"),
        "Test/Cache/Warming",
        "'2'",
        "Pass",
    ),
    (
        "lifecycle-rule-age-a-number",
        lambda s: lifecycle(s, CacheLifecycleRule(expire_if_not_pulled_for=30)),
        "Test/Rule/Template",
        "30",
        "Pass",
    ),
    (
        "image-uri-tag-a-number",
        lambda s: rule(s, Upstream.quay()).image_uri("prometheus/prometheus", tag=3),
        "Test/Rule",
        "3",
        "Pass",
    ),
    (
        "template-keep-last-images-a-string",
        lambda s: settings(s, keep_last_images="10"),
        "Test/Rule/Template",
        "'10'",
        "Pass",
    ),
    (
        "template-applied-for-unknown",
        lambda s: RepositoryCreationTemplate(s, "T", prefix="p", applied_for=["PULL"]),
        "Test/T",
        "'PULL'",
        "Use one of",
    ),
    # §2 roles and keys ECR would use
    (
        "template-role-of-another-account",
        lambda s: settings(s, role=iam.Role.from_role_arn(s, "R", "arn:aws:iam::999988887777:role/ecr-templates")),
        "Test/Rule/Template",
        "'999988887777'",
        "Use",
    ),
    (
        "template-role-not-trusted-by-ecr",
        lambda s: settings(s, role=iam.Role(s, "R", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))),
        "Test/Rule/Template",
        "['lambda.amazonaws.com']",
        "Create",
    ),
    (
        "ecr-role-not-trusted-by-pull-through-cache",
        lambda s: rule(
            s,
            Upstream.ecr(
                account="999988887777",
                region="eu-west-1",
                role=iam.Role(s, "R", assumed_by=iam.ServicePrincipal("ecr.amazonaws.com")),
            ),
        ),
        "Test/Rule",
        "['ecr.amazonaws.com']",
        "Create",
    ),
    (
        "template-role-with-a-path",
        lambda s: settings(
            s, role=iam.Role(s, "R", path="/platform/", assumed_by=iam.ServicePrincipal("ecr.amazonaws.com"))
        ),
        "Test/Rule/Template",
        "'/platform/'",
        "Use",
    ),
    (
        "template-role-imported-with-a-path",
        lambda s: settings(
            s, role=iam.Role.from_role_arn(s, "R", f"arn:aws:iam::{ACCOUNT}:role/platform/ecr-templates")
        ),
        "Test/Rule/Template",
        "'/platform/'",
        "Use",
    ),
    (
        "template-key-of-another-region",
        lambda s: settings(s, encryption_key=kms.Key.from_key_arn(s, "K", KEY.replace("us-east-1", "eu-west-1"))),
        "Test/Rule/Template",
        "'eu-west-1'",
        "Use",
    ),
    (
        "carry-over-malformed-json",
        lambda s: RegistryPolicy.of(s).carry_over('{"Statement": ['),
        "Test/EcrRegistryPolicy",
        "'{\"Statement\": ['",
        "Pass",
    ),
    ("carry-over-a-list", lambda s: RegistryPolicy.of(s).carry_over("[]"), "Test/EcrRegistryPolicy", "[]", "Pass"),
    (
        "carry-over-statement-without-effect",
        lambda s: RegistryPolicy.of(s).carry_over(
            {
                "Statement": [
                    {
                        "Principal": {"AWS": "arn:aws:iam::222233334444:root"},
                        "Action": "ecr:ReplicateImage",
                        "Resource": "*",
                    }
                ]
            }
        ),
        "Test/EcrRegistryPolicy",
        "None",
        "Add",
    ),
    (
        "carry-over-statement-without-action",
        lambda s: RegistryPolicy.of(s).carry_over(
            {
                "Statement": [
                    {
                        "Sid": "Old",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::222233334444:root"},
                        "Resource": "*",
                    }
                ]
            }
        ),
        "Test/EcrRegistryPolicy",
        "'Old'",
        "Add",
    ),
    (
        "template-key-of-another-account",
        lambda s: settings(s, encryption_key=kms.Key.from_key_arn(s, "K", KEY.replace(ACCOUNT, "999988887777"))),
        "Test/Rule/Template",
        "'999988887777'",
        "Use",
    ),
]


@pytest.mark.parametrize(("build", "path", "value", "fix"), [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED])
def test_rejects_with_path_value_and_fix_and_writes_no_template(tmp_path, build, path, value, fix):
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))

    with pytest.raises((ValueError, RuntimeError)) as error:
        build(stack)
        app.synth()

    message = str(error.value)
    assert f"[{path}] " in message, message
    assert f"got {value}" in message, message
    assert f". {fix}" in message, message
    assert not list(tmp_path.glob("*.template.json"))


def test_a_single_statement_principal_arn_of_a_session_is_accepted(stack):
    cache(stack).grant_pull(iam.ArnPrincipal(f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/session"))

    assert Template.from_stack(stack).find_resources("AWS::ECR::RegistryPolicy")


def test_an_imported_role_with_unknown_trust_is_accepted(stack):
    settings(
        stack,
        resource_tags={"a": "b"},
        role=iam.Role.from_role_arn(stack, "R", f"arn:aws:iam::{ACCOUNT}:role/cdk-ecr-ptc-templates"),
    )

    assert Template.from_stack(stack).find_resources("AWS::ECR::RepositoryCreationTemplate")


def test_carry_over_accepts_a_single_statement_object(stack):
    RegistryPolicy.of(stack).carry_over(
        {
            "Version": "2012-10-17",
            "Statement": {
                "Sid": "Replication",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::222233334444:root"},
                "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
                "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*",
            },
        }
    )

    (policy,) = Template.from_stack(stack).find_resources("AWS::ECR::RegistryPolicy").values()
    assert [s["Sid"] for s in policy["Properties"]["PolicyText"]["Statement"]] == ["Replication"]
