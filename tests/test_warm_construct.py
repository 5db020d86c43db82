"""cache.warm / rule.warm: the custom resource, its routing of references, its function, role and ordering."""

import json

import pytest
from aws_cdk import App, CfnParameter, Duration, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from cdk_ecr_ptc import (
    PullThroughCache,
    PullThroughCacheRule,
    PullTimeUpdateExclusion,
    RepositorySettings,
    Upstream,
    UpstreamCredentials,
    WarmImage,
)
from cdk_ecr_ptc._reference import RuleInfo, route
from cdk_ecr_ptc.images import InvalidImageReference
from cdk_ecr_ptc.roles import ROLE_NAME_PREFIX

ACCOUNT, REGION = "111122223333", "us-east-1"
WARMING = "Custom::PullThroughCacheWarming"


def make_cache(stack, **kwargs):
    secret = UpstreamCredentials.new_secret(stack, "DockerHubSecret", name="docker-hub", username="user")
    return PullThroughCache(
        stack,
        "Cache",
        upstreams=[
            Upstream.ecr_public(),
            Upstream.quay(),
            Upstream.docker_hub(credentials=secret),
            Upstream.ecr(account="444455556666", region="eu-west-1", prefix="team"),
        ],
        **kwargs,
    )


def warming(stack) -> dict:
    (resource,) = Template.from_stack(stack).find_resources(WARMING).values()
    return resource


def test_routes_references_to_their_rules(stack):
    make_cache(stack).warm(
        [
            "nginx:1.27",
            "quay.io/prometheus/prometheus:v2.53.0",
            "public.ecr.aws/docker/library/redis:7.4",
            "bitnami/redis",
            "444455556666.dkr.ecr.eu-west-1.amazonaws.com/app/api:v1",
        ]
    )
    images = warming(stack)["Properties"]["Images"]
    assert [(i["Repository"], i["Tag"], i["Rule"]) for i in images] == [
        ("docker-hub/library/nginx", "1.27", "docker-hub"),
        ("quay/prometheus/prometheus", "v2.53.0", "quay"),
        ("ecr-public/docker/library/redis", "7.4", "ecr-public"),
        ("docker-hub/bitnami/redis", "latest", "docker-hub"),
        ("team/app/api", "v1", "team"),
    ]
    assert images[0]["Reference"] == "nginx:1.27"


def test_rule_warm_reads_paths_of_its_upstream(stack):
    cache = make_cache(stack)
    cache.rule("quay").warm(["prometheus/prometheus:v2.53.0", "quay.io/coreos/etcd:v3.5"])
    images = warming(stack)["Properties"]["Images"]
    assert [i["Repository"] for i in images] == ["quay/prometheus/prometheus", "quay/coreos/etcd"]


def test_warm_image_names_a_rule_repository_and_tag(stack):
    cache = make_cache(stack)
    cache.warm([WarmImage(rule=cache.rule("docker-hub"), repository="nginx", tag="1.27")])
    assert warming(stack)["Properties"]["Images"][0]["Repository"] == "docker-hub/library/nginx"


def test_tag_and_digest_is_warmed_by_tag_and_checked(stack):
    digest = "sha256:" + "a" * 64
    make_cache(stack).warm([f"nginx:1.27@{digest}"])
    image = warming(stack)["Properties"]["Images"][0]
    assert (image["Tag"], image["Digest"]) == ("1.27", digest)


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (
            "nginx@sha256:" + "a" * 64,
            r"a first pull by digest is not cached .* so an image is warmed by tag: got "
            r"'nginx@sha256:a+'\. Name the tag",
        ),
        ("ghcr.io/org/app:1", r"no pull-through cache rule caches this image's registry: got 'ghcr.io/org/app:1'"),
        ("Nginx:1.27", r"repository names must be lowercase: got 'Nginx:1.27'\. Write 'nginx'"),
        ("nginx:-bad", r"the image tag is not valid: got '-bad'\. Use up to 128"),
        ("nginx:1@sha256:abc", r"the image digest is not valid: got 'sha256:abc'\. Use 'sha256:'"),
    ],
)
def test_fails_on_references_it_cannot_warm(stack, reference, message):
    cache = make_cache(stack)
    with pytest.raises(ValueError, match=r"^\[Test/Cache/Warming\] " + message):
        cache.warm([reference])


def test_fails_on_a_token_reference(stack):
    cache = make_cache(stack)
    with pytest.raises(ValueError, match="must be a concrete string"):
        cache.warm([CfnParameter(stack, "Image").value_as_string])


def test_fails_when_two_rules_cache_the_registry(stack):
    cache = PullThroughCache(stack, "Cache", upstreams=[Upstream.quay(), Upstream.quay(prefix="quay-2")])
    with pytest.raises(ValueError, match=r"several rules cache quay.io \(quay, quay-2\).*cache.rule\(prefix\)"):
        cache.warm(["quay.io/a/b:1"])
    cache.rule("quay-2").warm(["a/b:1"])  # one rule is unambiguous


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"concurrency": 0}, "concurrency must be 1-10: got 0"),
        ({"platforms": ["amd64"]}, "a platform is os/architecture"),
        ({"time_per_image": Duration.seconds(10)}, "time_per_image must be 40-840 seconds: got 10"),
        ({"concurrency": 1, "images": [f"quay.io/a/b:{n}" for n in range(5)]}, "warming this list can take 900 s"),
        ({"images": ["quay.io/a/b:1", "quay.io/a/b:1"]}, "an image is listed twice"),
        ({"images": []}, "warm needs at least one image"),
    ],
)
def test_fails_on_bad_settings(stack, kwargs, message):
    cache = make_cache(stack)
    kwargs = {"images": ["nginx:1.27"]} | kwargs
    with pytest.raises(ValueError, match=r"^\[Test/Cache/Warming\] " + message):
        cache.warm(**kwargs)


def test_fails_when_warmed_twice(stack):
    cache = make_cache(stack)
    cache.warm(["nginx:1.27"])
    with pytest.raises(ValueError, match=r"\[Test/Cache\] the cache already warms images"):
        cache.warm(["nginx:1.28"])


def test_timeouts_fit_the_list(stack):
    cache = make_cache(stack)
    cache.warm([f"quay.io/a/b:{n}" for n in range(3)], concurrency=2, time_per_image=Duration.minutes(2))
    cache.rule("ecr-public").warm(["docker/library/redis:7"])
    template = Template.from_stack(stack)
    resources = template.find_resources(WARMING)
    by_path = {r["Properties"]["Images"][0]["Rule"]: r["Properties"] for r in resources.values()}
    assert by_path["quay"]["BudgetSeconds"] == "240"  # two waves of 120 s
    assert by_path["quay"]["PollSeconds"] == "90"
    assert by_path["quay"]["ServiceTimeout"] == "360"
    assert by_path["ecr-public"]["ServiceTimeout"] == "300"
    functions = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": "warm.handler"}})
    (function,) = functions.values()
    assert function["Properties"]["Timeout"] == 270  # the longest list, plus a margin


def test_one_function_per_stack_serves_every_warming(stack):
    cache = make_cache(stack)
    cache.warm(["nginx:1.27"])
    cache.rule("quay").warm(["a/b:1"])
    template = Template.from_stack(stack)
    template.resource_count_is(WARMING, 2)
    assert len(template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": "warm.handler"}})) == 1
    template.resource_count_is("AWS::ECR::PullTimeUpdateExclusion", 1)


def test_runs_after_the_rules_validation_registry_policy_and_templates(stack):
    secret = UpstreamCredentials.new_secret(stack, "Secret", name="docker-hub", username="user")
    cache = PullThroughCache(
        stack, "Cache", upstreams=[Upstream.docker_hub(credentials=secret, validate_after_deploy=True), Upstream.quay()]
    )
    cache.warm(["nginx:1.27"])
    # declared after warm(): still ordered before it
    cache.add_repository_settings(RepositorySettings(keep_last_images=5), prefix="docker-hub")
    cache.grant_pull(iam.AccountPrincipal("444455556666"))
    template = Template.from_stack(stack).to_json()["Resources"]
    depends = set(warming(stack)["DependsOn"])

    def logical(type_):
        return {k for k, v in template.items() if v["Type"] == type_}

    rules = logical("AWS::ECR::PullThroughCacheRule")
    assert {rule for rule in rules if "dockerhub" in rule} <= depends
    assert not {rule for rule in rules if "quay" in rule} & depends  # not warmed: not waited for
    assert logical("AWS::ECR::RegistryPolicy") <= depends
    assert logical("AWS::ECR::RepositoryCreationTemplate") <= depends
    assert logical("Custom::PullThroughCacheRuleValidation") <= depends
    assert logical("AWS::ECR::PullTimeUpdateExclusion") <= depends


def test_a_rule_change_changes_the_properties(app):
    def rules_property(prefix_secret):
        stack = Stack(App(), "Test", env=Environment(account=ACCOUNT, region=REGION))
        secret = UpstreamCredentials.from_secret_name(f"ecr-pullthroughcache/{prefix_secret}")
        PullThroughCache(stack, "Cache", upstreams=[Upstream.docker_hub(credentials=secret)]).warm(["nginx:1"])
        return json.dumps(warming(stack)["Properties"]["Rules"], sort_keys=True)

    assert rules_property("docker-hub") == rules_property("docker-hub")
    assert rules_property("docker-hub") != rules_property("docker-hub-2")


def test_role_has_a_library_name_and_no_path(stack):
    make_cache(stack).warm(["nginx:1.27"])
    roles = Template.from_stack(stack).find_resources("AWS::IAM::Role")
    warmer = [r["Properties"] for k, r in roles.items() if k.startswith("PullThroughCacheWarmer")]
    assert len(warmer) == 2  # the handler's and the Provider framework's
    for props in warmer:
        assert props["RoleName"].startswith(ROLE_NAME_PREFIX + REGION + "-") and "Path" not in props
        assert len(props["RoleName"]) <= 64


def test_the_role_is_excluded_from_pull_times_by_default(stack):
    make_cache(stack).warm(["nginx:1.27"])
    template = Template.from_stack(stack)
    (role_id,) = [k for k in template.find_resources("AWS::IAM::Role") if k.startswith("PullThroughCacheWarmerRole")]
    template.has_resource_properties(
        "AWS::ECR::PullTimeUpdateExclusion", {"PrincipalArn": {"Fn::GetAtt": [role_id, "Arn"]}}
    )


def test_exclude_from_pull_time_false_defines_no_exclusion(stack):
    make_cache(stack).warm(["nginx:1.27"], exclude_from_pull_time=False)
    Template.from_stack(stack).resource_count_is("AWS::ECR::PullTimeUpdateExclusion", 0)


def test_fail_on_error_and_platforms_reach_the_handler(stack):
    make_cache(stack).warm(["nginx:1.27"], fail_on_error=False, platforms=["linux/amd64"])
    props = warming(stack)["Properties"]
    assert (props["FailOnError"], props["Platforms"]) == ("false", ["linux/amd64"])


def test_function_and_log_groups(stack):
    make_cache(stack).warm(["nginx:1.27"])
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "warm.handler",
            "Runtime": Match.string_like_regexp("python3"),
            "LoggingConfig": {"LogGroup": Match.any_value()},
        },
    )
    for group in template.find_resources("AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] == 30


def test_agnostic_stack_synthesizes(agnostic_stack):
    make_cache(agnostic_stack).warm(["nginx:1.27"])
    Template.from_stack(agnostic_stack).resource_count_is(WARMING, 1)


def test_warming_a_rule_with_a_token_prefix(stack):
    prefix = CfnParameter(stack, "Prefix").value_as_string
    rule = PullThroughCacheRule(stack, "Rule", upstream=Upstream.quay(), prefix=prefix)
    rule.warm(["a/b:1"])
    assert warming(stack)["Properties"]["Images"][0]["Repository"] == {"Fn::Join": ["", [{"Ref": "Prefix"}, "/a/b"]]}


# ---- routing a reference to a rule (the parsing is tests/test_images.py) --------------------------


def test_ecr_upstream_prefix_is_stripped():
    rule = RuleInfo(prefix="team", upstream_url="1.dkr.ecr.eu-west-1.amazonaws.com", upstream_repository_prefix="prod")
    assert route("1.dkr.ecr.eu-west-1.amazonaws.com/prod/api:1", [rule]).repository == "team/api"
    with pytest.raises(
        InvalidImageReference,
        match=r"not under this rule's upstream repository prefix: got "
        r"'dev/api'\. This rule caches .*/prod/\* only",
    ):
        route("1.dkr.ecr.eu-west-1.amazonaws.com/dev/api:1", [rule])


def test_a_path_without_host_is_after_the_ecr_upstream_prefix_as_for_image_uri(stack):
    cache = PullThroughCache(
        stack,
        "Cache",
        upstreams=[
            Upstream.ecr(account="444455556666", region="eu-west-1", prefix="team", upstream_repository_prefix="prod")
        ],
    )
    rule = cache.rule("team")
    rule.warm(["api:1"])
    assert warming(stack)["Properties"]["Images"][0]["Repository"] == "team/api"
    assert rule.image_uri("api:1").endswith(".amazonaws.com/team/api:1")


def test_hosts_route_to_their_rules():
    rules = [
        RuleInfo(prefix=prefix, upstream_url=url)
        for prefix, url in (
            ("ecr-public", "public.ecr.aws"),
            ("quay", "quay.io"),
            ("github", "ghcr.io"),
            ("hub", "registry-1.docker.io"),
        )
    ]
    routes = [
        route(text, rules)
        for text in (
            "public.ecr.aws/docker/library/redis:7",
            "Quay.IO/coreos/etcd:v3",
            "ghcr.io/org/app:1",
            "nginx:1.27",
        )
    ]
    assert [(r.rule.prefix, r.repository, r.tag) for r in routes] == [
        ("ecr-public", "ecr-public/docker/library/redis", "7"),
        ("quay", "quay/coreos/etcd", "v3"),
        ("github", "github/org/app", "1"),
        ("hub", "hub/library/nginx", "1.27"),
    ]


def test_root_prefix_and_docker_hub_aliases():
    rule = RuleInfo(prefix="ROOT", upstream_url="registry-1.docker.io")
    assert route("docker.io/nginx:1", [rule]).repository == "library/nginx"
    assert route("index.docker.io/library/nginx:1", [rule]).repository == "library/nginx"


# ---- PullTimeUpdateExclusion ----------------------------------------------------------------


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::111122223333:role/scanner",
        "arn:aws:iam::111122223333:user/ops/ci",
        "arn:aws-us-gov:iam::111122223333:role/a/b/c",
    ],
)
def test_exclusion_accepts_role_and_user_arns(stack, arn):
    PullTimeUpdateExclusion(stack, "Exclusion", principal=arn)
    Template.from_stack(stack).has_resource_properties("AWS::ECR::PullTimeUpdateExclusion", {"PrincipalArn": arn})


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::111122223333:group/admins",
        "arn:aws:sts::111122223333:assumed-role/a/b",
        "111122223333",
        "arn:aws:iam::111122223333:role/" + "a" * 200,
    ],
)
def test_fails_when_the_exclusion_principal_is_not_a_role_or_user(stack, arn):
    with pytest.raises(
        ValueError,
        match=r"^\[Test/Exclusion\] a pull time update exclusion takes an IAM role or "
        r"user ARN: got '.*'\. Pass arn:",
    ):
        PullTimeUpdateExclusion(stack, "Exclusion", principal=arn)


def test_exclusion_takes_roles_users_and_tokens(stack):
    role = iam.Role(stack, "Scanner", assumed_by=iam.ServicePrincipal("inspector2.amazonaws.com"))
    assert PullTimeUpdateExclusion(stack, "Role", principal=role).principal_arn == role.role_arn
    PullTimeUpdateExclusion(stack, "User", principal=iam.User(stack, "Ops"))
    PullTimeUpdateExclusion(stack, "Token", principal=CfnParameter(stack, "Arn").value_as_string)
    Template.from_stack(stack).resource_count_is("AWS::ECR::PullTimeUpdateExclusion", 3)


def test_fails_when_a_rule_is_warmed_twice(stack):
    rule = make_cache(stack).rule("quay")
    rule.warm(["a/b:1"])
    with pytest.raises(ValueError, match=r"^\[Test/Cache/quay\] the rule already warms images: got 'quay'\."):
        rule.warm(["a/b:2"])


def test_fails_when_a_warm_image_names_another_caches_rule(stack):
    cache = make_cache(stack)
    other = PullThroughCache(stack, "Other", upstreams=[Upstream.quay(prefix="quay-2")])
    with pytest.raises(
        ValueError,
        match=r"the image's rule is not one of the rules warmed here: "
        r"got 'Test/Other/quay-2'",
    ):
        cache.warm([WarmImage(rule=other.rule("quay-2"), repository="a/b", tag="1")])
