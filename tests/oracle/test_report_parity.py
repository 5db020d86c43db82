"""The access report's evaluator against principalmapper (the oracle): the same verdict on every
(principal, rule) pair of every example assembly, the oracle's rich apps, and the fuzzed configurations.

The report runs on the synthesized cloud assembly (``build_report(read_assembly(...))``), the oracle on
the same app's stacks. Both are asked the same question, in the oracle's model:

- the registry policy is on scope V2 (the report is run with ``registry_scope="V2"``: the oracle
  does not model V1);
- a first pull needs ``ecr:GetAuthorizationToken`` and, on the rule's probe repository, the pull
  actions (the creation template's repository policy counts for them: ``existing=True``) and
  ``ecr:CreateRepository`` (+ ``ecr:TagResource`` under a tagging template) from the identity side or
  the registry policy (``existing=False``);
- a principal outside the assembly has "their side" of the identity: everything in another account
  (``ECR_ALL``), just the token in the registry's own account (``TOKEN_ONLY``), which is what the
  report's "identity outside the assembly" means.

Pairs the oracle cannot model (permissions boundaries, AWS managed policies, service principals) are
left out and counted; the test asserts it compared pairs at all.
"""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import App, Environment
from hypothesis import given
from oracle import (
    AGNOSTIC_ACCOUNT,
    AGNOSTIC_REGION,
    AUTH_TOKEN,
    DOWNSTREAM_CACHE,
    ECR_ALL,
    TOKEN_ONLY,
    AppOracle,
    Principal,
    external,
)
from oracle_apps import catalog_app, example_app, load_module, rich_app
from test_fuzz import FUZZ, build, configs, refused

from cdk_ecr_ptc.report import build_report, read_assembly
from cdk_ecr_ptc.report.model import REPOSITORY_POLICY_ACTIONS, probe_repository, repository_arn

ENVIRONMENTS = {"prod": ("111122223333", "us-east-1"), "staging": ("444455556666", "eu-west-1")}


def concrete(value: str) -> str:
    """A report ARN in the oracle's terms: agnostic placeholders become its account and Region, no IAM path."""
    value = value.replace("unknown-account", AGNOSTIC_ACCOUNT).replace("unknown-region", AGNOSTIC_REGION)
    return re.sub(r":(role|user)/(?:.+/)?([^/]+)$", r":\1/\2", value)


def oracle_principal(oracle: AppOracle, principal: dict[str, Any], account: str) -> Principal | None:
    """The oracle's principal for a report principal, in a registry of ``account``; None if not modelled."""
    kind = principal["kind"]
    if principal["stack"] is not None:
        modelled = oracle.principal(concrete(principal["arn"]))
        return None if modelled.unmodelled else modelled
    if kind == "account":
        return external(f"arn:aws:iam::{principal['account']}:role/theirs")
    if kind == "organization":
        return external("arn:aws:iam::555566667777:role/member", org_id=principal["org_id"])
    if kind == "anyone":
        return external("arn:aws:iam::777788889999:role/anyone")
    if kind == "arn" and principal["arn"]:
        arn = concrete(principal["arn"])
        return external(arn, TOKEN_ONLY if arn.split(":")[4] == account else ECR_ALL)
    return None  # services: the oracle has no service principals


def oracle_first_pull(oracle: AppOracle, who: Principal, repository: str) -> bool:
    if not oracle.allows(who, AUTH_TOKEN, "*"):
        return False
    return all(
        oracle.allows(who, action, repository, existing=action in REPOSITORY_POLICY_ACTIONS)
        for action in oracle.first_pull_actions(repository)
    )


def compare(app: App, stacks: list) -> tuple[int, list[str]]:
    """Compares every pair (and every ECR-to-ECR role against its upstream); returns how many were
    compared and the disagreements."""
    oracle = AppOracle(stacks)
    report = build_report(read_assembly(app.synth().directory), all_principals=True, registry_scope="V2")
    principals = {p["name"]: p for p in report["principals"]}
    compared, disagreements = 0, []
    for registry in report["registries"]:
        rules = {r["ecr_repository_prefix"] or r["logical_id"]: r for r in registry["rules"]}
        for access in registry["access"]:
            repository = concrete(rules[access["rule"]]["probe_repository_arn"])
            who = oracle_principal(oracle, principals[access["principal"]], repository.split(":")[4])
            if who is None:
                continue
            compared += 1
            expected = oracle_first_pull(oracle, who, repository)
            if access["allowed"] != expected:
                disagreements.append(
                    f"{access['principal']} via {access['rule']} in {registry['key']}: report "
                    f"{access['allowed']} ({access['missing']}), oracle {expected}"
                )
    for entry in report["upstream"]:
        if not entry["upstream_in_assembly"] or entry["role"] not in principals:
            continue
        who = oracle_principal(oracle, principals[entry["role"]], "")
        if who is None:
            continue
        account, region = entry["upstream"].split("/")
        (rule,) = [
            r
            for g in report["registries"]
            for r in g["rules"]
            if r["stack"] == entry["stack"] and (r["ecr_repository_prefix"] or r["logical_id"]) == entry["rule"]
        ]
        repository = repository_arn(account, region, probe_repository(rule["upstream_repository_prefix"] or "ROOT"))
        compared += 1
        expected = oracle.allows(who, AUTH_TOKEN, "*") and not oracle.denied(who, DOWNSTREAM_CACHE, repository)
        if entry["allowed"] != expected:
            disagreements.append(f"upstream of {entry['rule']}: report {entry['allowed']}, oracle {expected}")
    return compared, disagreements


def test_example_app_agnostic() -> None:
    app, stack = example_app()
    compared, disagreements = compare(app, [stack])
    assert compared and disagreements == []


def test_example_app_every_environment() -> None:
    app = App()
    module = load_module("app")
    stages = [
        module.PullThroughCacheStage(app, name, env=Environment(account=a, region=r))
        for name, (a, r) in ENVIRONMENTS.items()
    ]
    stacks = [child for stage in stages for child in stage.node.children if hasattr(child, "stack_name")]
    compared, disagreements = compare(app, stacks)
    assert compared and disagreements == []


def test_central_cache_example() -> None:
    app = App()
    module = load_module("central_cache")
    stacks = [module.CentralCacheStack(app, "CentralCache"), module.WorkloadStack(app, "Workload")]
    compared, disagreements = compare(app, stacks)
    assert compared >= 9 and disagreements == []


def test_rich_app() -> None:
    """Every kind of grantee, a consumer role in another account's stack, and ECR-to-ECR with both sides."""
    rich = rich_app()
    compared, disagreements = compare(rich.app, rich.stacks)
    assert compared >= 70 and disagreements == []


def test_catalog_app() -> None:
    app, stacks = catalog_app()
    compared, disagreements = compare(app, stacks)
    assert compared and disagreements == []


@FUZZ
@given(configs())
def test_fuzzed_configurations(config) -> None:
    if refused(config):  # the library refuses the grants (test_fuzz checks how)
        return
    built = build(config)
    try:
        built.app.synth()
    except RuntimeError:  # too many principals for one policy: nothing to compare
        return
    _, disagreements = compare(built.app, built.stacks)
    assert disagreements == []
