"""The small IAM evaluator: matching, explicit Deny, principals and conditions."""

from cdk_ecr_ptc.report.evaluate import Statement, Who, evaluate, wildcard_match

REPO = "arn:aws:ecr:us-east-1:111122223333:repository/docker-hub/probe/image"
ROLE = Who(arn="arn:aws:iam::111122223333:role/puller", account="111122223333")
PARTNER = Who(arn="arn:aws:iam::222233334444:root", account="222233334444")
HOME = "111122223333"


def allow(**body: object) -> Statement:
    return Statement("test", {"Effect": "Allow", **body})


def deny(**body: object) -> Statement:
    return Statement("test", {"Effect": "Deny", **body})


def test_action_wildcards_match_case_insensitively() -> None:
    statements = [allow(Action="ECR:batch*", Resource="*")]

    assert evaluate(statements, "ecr:BatchGetImage", REPO, ROLE).allowed
    assert not evaluate(statements, "ecr:GetDownloadUrlForLayer", REPO, ROLE).allowed


def test_resource_wildcards_match_any_run_or_one_character() -> None:
    assert wildcard_match("arn:aws:ecr:*:*:repository/docker-hub/*", REPO)
    assert wildcard_match("arn:aws:ecr:us-east-?:111122223333:repository/*", REPO)
    assert not wildcard_match("arn:aws:ecr:us-east-1:111122223333:repository/ecr-public/*", REPO)


def test_not_action_and_not_resource_invert_the_match() -> None:
    statements = [allow(NotAction="ecr:CreateRepository", NotResource="arn:aws:ecr:*:*:repository/other/*")]

    assert evaluate(statements, "ecr:BatchGetImage", REPO, ROLE).allowed
    assert not evaluate(statements, "ecr:CreateRepository", REPO, ROLE).allowed


def test_explicit_deny_is_reported_next_to_an_allow() -> None:
    statements = [
        allow(Action="ecr:*", Resource="*"),
        deny(Action="ecr:BatchImportUpstreamImage", Resource="*"),
    ]

    verdict = evaluate(statements, "ecr:BatchImportUpstreamImage", REPO, ROLE)

    assert verdict.allowed and verdict.denied


def test_resource_policy_needs_a_matching_principal() -> None:
    statements = [allow(Principal={"AWS": "arn:aws:iam::111122223333:role/other"}, Action="ecr:*", Resource="*")]

    assert not evaluate(statements, "ecr:BatchGetImage", REPO, ROLE, home_account=HOME).allowed


def test_account_root_grants_other_accounts() -> None:
    statements = [allow(Principal={"AWS": "arn:aws:iam::222233334444:root"}, Action="ecr:*", Resource="*")]

    assert evaluate(statements, "ecr:BatchGetImage", REPO, PARTNER, home_account=HOME).allowed


def test_home_account_root_allow_delegates_to_identity_policies() -> None:
    root = {"AWS": "arn:aws:iam::111122223333:root"}

    assert not evaluate(
        [allow(Principal=root, Action="ecr:*")], "ecr:BatchGetImage", REPO, ROLE, home_account=HOME
    ).allowed
    assert evaluate([deny(Principal=root, Action="ecr:*")], "ecr:BatchGetImage", REPO, ROLE, home_account=HOME).denied


def test_org_condition_is_evaluated_for_an_organization_principal() -> None:
    statement = allow(Principal="*", Action="ecr:*", Condition={"StringLike": {"aws:PrincipalOrgID": "o-abc*"}})
    member = Who(arn=None, account=None, org_id="o-abcdef1234")
    outsider = Who(arn=None, account=None, org_id="o-zzzzzzzzzz")

    assert evaluate([statement], "ecr:BatchGetImage", REPO, member, home_account=HOME).allowed
    verdict = evaluate([statement], "ecr:BatchGetImage", REPO, outsider, home_account=HOME)
    assert not verdict.allowed and not verdict.unknown


def test_principal_account_condition_uses_the_principal_account() -> None:
    statement = allow(
        Principal="*", Action="ecr:*", Condition={"StringEquals": {"aws:PrincipalAccount": ["222233334444"]}}
    )

    assert evaluate([statement], "ecr:BatchGetImage", REPO, PARTNER, home_account=HOME).allowed
    assert not evaluate([statement], "ecr:BatchGetImage", REPO, ROLE, home_account=HOME).allowed


def test_unknown_condition_does_not_allow_and_says_why() -> None:
    statement = allow(Sid="Vpc", Action="ecr:*", Resource="*", Condition={"StringEquals": {"aws:SourceVpce": "v"}})

    verdict = evaluate([statement], "ecr:BatchGetImage", REPO, ROLE)

    assert not verdict.allowed
    assert verdict.unknown == ["test (Vpc): condition StringEquals aws:SourceVpce not evaluated"]


def test_unknown_condition_on_a_deny_counts_as_denied() -> None:
    statement = deny(Action="ecr:*", Resource="*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})

    assert evaluate([statement], "ecr:BatchGetImage", REPO, ROLE).denied
