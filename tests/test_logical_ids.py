"""A rule's logical ID comes from its prefix, so reordering or adding upstreams never replaces a rule."""

from aws_cdk import App, Environment, Stack

from cdk_ecr_ptc import PullThroughCache, Upstream
from tests.support import resources


def rule_ids(upstreams) -> dict[str, str]:
    stack = Stack(App(), "Test", env=Environment(account="111122223333", region="us-east-1"))
    PullThroughCache(stack, "Cache", upstreams=upstreams)
    return {
        props["Properties"]["EcrRepositoryPrefix"]: logical_id
        for logical_id, props in resources(stack, "AWS::ECR::PullThroughCacheRule").items()
    }


def test_reordering_upstreams_keeps_every_logical_id():
    forward = rule_ids([Upstream.quay(), Upstream.ecr_public(), Upstream.kubernetes()])
    backward = rule_ids([Upstream.kubernetes(), Upstream.ecr_public(), Upstream.quay()])

    assert forward == backward


def test_adding_an_upstream_keeps_the_others():
    before = rule_ids([Upstream.quay(), Upstream.ecr_public()])
    after = rule_ids([Upstream.kubernetes(), Upstream.quay(), Upstream.ecr_public()])

    assert {prefix: after[prefix] for prefix in before} == before


def test_prefixes_with_slashes_get_distinct_ids():
    ids = rule_ids([Upstream.quay(prefix="a/b"), Upstream.quay(prefix="a--b"), Upstream.quay(prefix="ab")])

    assert len(set(ids.values())) == 3


def test_logical_id_is_the_cache_id_and_prefix():
    assert rule_ids([Upstream.quay()])["quay"].startswith("Cachequay")
