"""--baseline: the replacements of custom-named resources an update would carry out, and how to avoid them."""

from __future__ import annotations

import json

from cdk_ecr_ptc.preflight import preflight

from .conftest import creation_template, registry_policy, resource, rule, template, write_assembly


def changes(tmp_path, old, new, *, as_templates=False):
    if as_templates:  # the baseline as `aws cloudformation get-template` output
        (tmp_path / "old").mkdir()
        (tmp_path / "old" / "Cache.json").write_text(json.dumps({"TemplateBody": old}))
        baseline = tmp_path / "old"
    else:
        baseline = write_assembly(tmp_path / "old", {"Cache": old})
    current = write_assembly(tmp_path / "new", {"Cache": new})
    return [
        f
        for f in preflight(current, baseline=baseline)["findings"]
        if f["check"] in ("replacement", "registry-policy-deleted")
    ]


def test_passes_an_unchanged_stack(tmp_path):
    cache = template(Rule=rule(), Policy=registry_policy("ecr:CreateRepository"))
    assert changes(tmp_path, cache, cache) == []


def test_fails_a_rule_whose_create_only_property_changes_under_the_same_prefix(tmp_path):
    (finding,) = changes(
        tmp_path, template(Rule=rule()), template(Rule=rule(url="quay.example.com")), as_templates=True
    )
    assert finding["value"] == "UpstreamRegistryUrl changed; name 'quay' kept"
    assert "new prefix" in finding["fix"] and "two deploys" in finding["fix"]


def test_passes_a_rule_that_moves_to_a_new_prefix(tmp_path):
    assert changes(tmp_path, template(Rule=rule()), template(Rule=rule(prefix="quay2"))) == []


def test_fails_a_rule_whose_logical_id_changes(tmp_path):
    (finding,) = changes(tmp_path, template(Rule=rule()), template(RuleRenamed=rule()))
    assert (finding["logical_id"], finding["value"]) == ("RuleRenamed", "quay")
    assert "Keep the logical ID Rule" in finding["fix"]


def test_fails_a_template_whose_prefix_changes(tmp_path):
    (finding,) = changes(
        tmp_path,
        template(Template=creation_template(role=None)),
        template(Template=creation_template(prefix="quay-v2", role=None)),
    )
    assert finding["value"] == "Prefix 'quay' -> 'quay-v2'"


def test_fails_a_deleted_and_a_moved_registry_policy(tmp_path):
    policy = registry_policy("ecr:CreateRepository")
    (deleted,) = changes(tmp_path / "a", template(Rule=rule(), Policy=policy), template(Rule=rule()))
    (moved,) = changes(tmp_path / "b", template(Policy=policy), template(PolicyNew=policy))
    assert deleted["check"] == moved["check"] == "registry-policy-deleted"
    assert "deleted" in deleted["problem"] and "the new one included" in moved["problem"]


def test_fails_a_retained_secret_that_is_replaced(tmp_path):
    def secret(name):
        return resource(
            "AWS::SecretsManager::Secret",
            {"Name": name, "SecretString": "{}"},
            DeletionPolicy="RetainExceptOnCreate",
            UpdateReplacePolicy="Retain",
        )

    (finding,) = changes(
        tmp_path, template(Secret=secret("ecr-pullthroughcache/a")), template(Secret=secret("ecr-pullthroughcache/b"))
    )
    assert "retained" in finding["problem"]
