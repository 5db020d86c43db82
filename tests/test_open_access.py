"""Issue 11 §1: no resource policy the library writes lets in principals beyond those named.

The open-access check reads each statement: ``NotPrincipal`` in an Allow, a ``*`` principal whose limit is not an
exact, positive condition on the principal's organization or account, a service principal without a source
limit, and federated principals (which ECR does not take in a resource policy) fail at synth, with the path, the
value and a fix, and no template is written.
"""

import json

import pytest
from aws_cdk import App, Aws, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from cdk_ecr_ptc import PullThroughCache, RegistryPolicy, RegistryPolicyScope, RepositoryCreationTemplate, Upstream
from cdk_ecr_ptc._statements import open_access_problems
from tests.conftest import ACCOUNT, REGION
from tests.support import flatten

OTHER = "222233334444"
ORG = "o-a1b2c3d4e5"
REPOSITORIES = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*"
V1_ACTIONS = ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]


def cache(stack):
    return PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()])


def template(stack):
    return RepositoryCreationTemplate(stack, "T", prefix="quay")


def registry_statement(stack, **kwargs):
    kwargs.setdefault("actions", V1_ACTIONS)
    kwargs.setdefault("resources", [REPOSITORIES])
    RegistryPolicy.of(stack).add_to_resource_policy(iam.PolicyStatement(**kwargs))


def repository_statement(stack, **kwargs):
    kwargs.setdefault("actions", ["ecr:BatchGetImage"])
    template(stack).add_to_resource_policy(iam.PolicyStatement(**kwargs))


def carry_over(stack, **statement):
    RegistryPolicy.of(stack).carry_over(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": V1_ACTIONS, "Resource": REPOSITORIES, **statement}],
            }
        )
    )


def limited(operator, key, value):
    return {operator: {key: value}}


def oidc(stack):
    return iam.OpenIdConnectPrincipal(
        iam.OpenIdConnectProvider(stack, "Oidc", url="https://token.actions.githubusercontent.com")
    )


def saml(stack):
    return iam.SamlPrincipal(
        iam.SamlProvider(stack, "Saml", metadata_document=iam.SamlMetadataDocument.from_xml("<x/>" * 200)), {}
    )


REGISTRY, REPOSITORY = "Test/EcrRegistryPolicy", "Test/T"
NOT_PRINCIPAL, ANY_ACCOUNT, SERVICE, FEDERATED = "NotPrincipal", "any AWS account", "service principal", "federated"

#: (case id, what to build, the construct path named, a word of the problem, a fragment of the value, the fix verb)
REJECTED = [
    # NotPrincipal in an Allow statement
    (
        "not-principal-added-to-the-registry-policy",
        lambda s: registry_statement(s, not_principals=[iam.AccountPrincipal(OTHER)]),
        REGISTRY,
        NOT_PRINCIPAL,
        '"NotPrincipal": {"AWS":',
        "Name",
    ),
    (
        "not-principal-carried-over",
        lambda s: carry_over(s, Sid="Old", NotPrincipal={"AWS": f"arn:aws:iam::{OTHER}:root"}),
        REGISTRY,
        NOT_PRINCIPAL,
        f'"NotPrincipal": {{"AWS": "arn:aws:iam::{OTHER}:root"}}, "Sid": "Old"',
        "Name",
    ),
    # '*' principals whose limit is not exact and positive
    (
        "star-with-a-wildcard-org-id",
        lambda s: registry_statement(
            s, principals=[iam.AnyPrincipal()], conditions=limited("StringLike", "aws:PrincipalOrgID", "o-*")
        ),
        REGISTRY,
        ANY_ACCOUNT,
        '"StringLike": {"aws:PrincipalOrgID": "o-*"}',
        "Limit",
    ),
    (
        "star-with-a-star-account",
        lambda s: carry_over(s, Principal={"AWS": "*"}, Condition=limited("StringLike", "aws:PrincipalAccount", ["*"])),
        REGISTRY,
        ANY_ACCOUNT,
        '"aws:PrincipalAccount": ["*"]',
        "Limit",
    ),
    (
        "star-string-with-a-question-mark",
        lambda s: carry_over(s, Principal="*", Condition=limited("StringLike", "aws:PrincipalOrgID", "o-a1b2c3d4e?")),
        REGISTRY,
        ANY_ACCOUNT,
        '"o-a1b2c3d4e?"',
        "Limit",
    ),
    (
        "star-with-one-wildcard-among-exact-accounts",
        lambda s: registry_statement(
            s,
            principals=[iam.StarPrincipal()],
            conditions=limited("StringEquals", "aws:PrincipalAccount", [OTHER, "3333*"]),
        ),
        REGISTRY,
        ANY_ACCOUNT,
        '"3333*"',
        "Limit",
    ),
    (
        "star-with-a-negated-operator",
        lambda s: registry_statement(
            s, principals=[iam.AnyPrincipal()], conditions=limited("StringNotEquals", "aws:PrincipalOrgID", ORG)
        ),
        REGISTRY,
        ANY_ACCOUNT,
        '"StringNotEquals"',
        "Limit",
    ),
    (
        "star-with-if-exists",
        lambda s: registry_statement(
            s,
            principals=[iam.AnyPrincipal()],
            conditions=limited("StringEqualsIfExists", "aws:PrincipalAccount", OTHER),
        ),
        REGISTRY,
        ANY_ACCOUNT,
        '"StringEqualsIfExists"',
        "Limit",
    ),
    (
        "star-with-a-null-operator",
        lambda s: registry_statement(
            s, principals=[iam.AnyPrincipal()], conditions=limited("Null", "aws:PrincipalOrgID", "false")
        ),
        REGISTRY,
        ANY_ACCOUNT,
        '"Null": {"aws:PrincipalOrgID": "false"}',
        "Limit",
    ),
    (
        "star-with-for-all-values",
        lambda s: registry_statement(
            s,
            principals=[iam.AnyPrincipal()],
            conditions=limited("ForAllValues:StringEquals", "aws:PrincipalOrgPaths", [f"{ORG}/r-ab12/"]),
        ),
        REGISTRY,
        ANY_ACCOUNT,
        '"ForAllValues:StringEquals"',
        "Limit",
    ),
    (
        "star-with-an-org-path-wildcard-before-the-org",
        lambda s: registry_statement(
            s,
            principals=[iam.AnyPrincipal()],
            conditions=limited("ForAnyValue:StringLike", "aws:PrincipalOrgPaths", ["o-*/r-ab12/*"]),
        ),
        REGISTRY,
        ANY_ACCOUNT,
        '"o-*/r-ab12/*"',
        "Limit",
    ),
    (
        "star-limited-by-another-key-only",
        lambda s: registry_statement(
            s, principals=[iam.AnyPrincipal()], conditions=limited("StringEquals", "aws:PrincipalTag/team", "a")
        ),
        REGISTRY,
        ANY_ACCOUNT,
        '"aws:PrincipalTag/team"',
        "Limit",
    ),
    # AnyPrincipal().with_conditions(...) granted
    (
        "any-principal-with-a-wildcard-org-granted-on-the-cache",
        lambda s: cache(s).grant_pull(
            iam.AnyPrincipal().with_conditions(limited("StringLike", "aws:PrincipalOrgID", "o-*"))
        ),
        REGISTRY,
        ANY_ACCOUNT,
        '"o-*"',
        "Limit",
    ),
    (
        "any-principal-with-a-null-condition-granted-under-v2",
        lambda s: PullThroughCache(
            s, "Cache", upstreams=[Upstream.quay()], registry_policy_scope=RegistryPolicyScope.V2
        ).grant_pull_through(iam.AnyPrincipal().with_conditions(limited("Null", "aws:PrincipalAccount", "false"))),
        REGISTRY,
        ANY_ACCOUNT,
        '"Null"',
        "Limit",
    ),
    (
        "star-principal-with-if-exists-granted-on-a-template",
        lambda s: template(s).grant_pull(
            iam.StarPrincipal().with_conditions(limited("StringEqualsIfExists", "aws:PrincipalOrgID", ORG))
        ),
        REPOSITORY,
        ANY_ACCOUNT,
        '"StringEqualsIfExists"',
        "Limit",
    ),
    # Federated and web-identity principals, which ECR does not accept in a resource policy
    (
        "federated-principal-granted-on-the-cache",
        lambda s: cache(s).grant_pull(iam.FederatedPrincipal("cognito-identity.amazonaws.com", {})),
        REGISTRY,
        FEDERATED,
        '"Federated": "cognito-identity.amazonaws.com"',
        "Grant",
    ),
    (
        "web-identity-principal-granted-on-a-template",
        lambda s: template(s).grant_pull(iam.WebIdentityPrincipal("accounts.google.com")),
        REPOSITORY,
        FEDERATED,
        '"Federated": "accounts.google.com"',
        "Grant",
    ),
    (
        "open-id-connect-principal-granted-on-the-cache",
        lambda s: cache(s).grant_pull(oidc(s)),
        REGISTRY,
        FEDERATED,
        '"Federated"',
        "Grant",
    ),
    (
        "saml-principal-added-to-a-repository-policy",
        lambda s: repository_statement(s, principals=[saml(s)]),
        REPOSITORY,
        FEDERATED,
        '"Federated"',
        "Grant",
    ),
    (
        "federated-principal-carried-over",
        lambda s: carry_over(s, Principal={"Federated": "cognito-identity.amazonaws.com"}),
        REGISTRY,
        FEDERATED,
        '"Federated": "cognito-identity.amazonaws.com"',
        "Grant",
    ),
    # a wildcard inside a principal ARN, which IAM does not accept
    (
        "principal-arn-with-a-wildcard-account-carried-over",
        lambda s: carry_over(s, Principal={"AWS": "arn:aws:iam::*:root"}),
        REGISTRY,
        "wildcard",
        '"arn:aws:iam::*:root"',
        "Name",
    ),
    (
        "principal-arn-with-a-wildcard-role-added",
        lambda s: registry_statement(s, principals=[iam.ArnPrincipal(f"arn:aws:iam::{OTHER}:role/ci-*")]),
        REGISTRY,
        "wildcard",
        f'"arn:aws:iam::{OTHER}:role/ci-*"',
        "Name",
    ),
    # service principals the library did not limit (a grant adds aws:SourceAccount; these were added as given)
    (
        "service-principal-added-without-a-source-condition",
        lambda s: registry_statement(s, principals=[iam.ServicePrincipal("codebuild.amazonaws.com")]),
        REGISTRY,
        SERVICE,
        '"Service": "codebuild.amazonaws.com"',
        "Add",
    ),
    (
        "service-principal-in-a-composite-added-to-a-repository-policy",
        lambda s: repository_statement(
            s,
            principals=[
                iam.CompositePrincipal(iam.AccountPrincipal(OTHER), iam.ServicePrincipal("codebuild.amazonaws.com"))
            ],
        ),
        REPOSITORY,
        SERVICE,
        '"Service": "codebuild.amazonaws.com"',
        "Add",
    ),
    (
        "service-principal-with-a-wildcard-source-account",
        lambda s: registry_statement(
            s,
            principals=[iam.ServicePrincipal("codebuild.amazonaws.com")],
            conditions=limited("StringLike", "aws:SourceAccount", "*"),
        ),
        REGISTRY,
        SERVICE,
        '"aws:SourceAccount": "*"',
        "Add",
    ),
]


@pytest.mark.parametrize(
    ("build", "path", "problem", "value", "fix"), [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED]
)
def test_open_access_fails_at_synth_with_path_value_and_fix(tmp_path, build, path, problem, value, fix):
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))
    build(stack)

    with pytest.raises(RuntimeError, match="ValidationFailedWithErrors") as error:
        app.synth()

    message = str(error.value)
    line = next((line for line in message.splitlines() if f"[{path}] " in line and problem in line), None)
    assert line is not None, message
    assert ": got {" in line and value in line, line
    assert f"}}. {fix}" in line, line
    assert not list(tmp_path.glob("*.template.json"))


def test_not_principal_in_a_repository_policy_fails_at_synth(tmp_path):
    # A repository-policy statement needs a Principal (the library's check, which comes first).
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))
    repository_statement(stack, not_principals=[iam.AccountPrincipal(OTHER)])

    with pytest.raises(RuntimeError, match=r"\[Test/T\] A PolicyStatement used in a repository policy must specify"):
        app.synth()
    assert not list(tmp_path.glob("*.template.json"))


def _synth_policies(stack) -> list[dict]:
    """Every registry and repository policy document of ``stack``, as deployed (tokens flattened)."""
    template = Template.from_stack(stack)
    documents = [p["Properties"]["PolicyText"] for p in template.find_resources("AWS::ECR::RegistryPolicy").values()]
    documents += [
        json.loads(flatten(t["Properties"]["RepositoryPolicy"]))
        for t in template.find_resources("AWS::ECR::RepositoryCreationTemplate").values()
        if "RepositoryPolicy" in t["Properties"]
    ]
    return documents


#: (case id, what to build): limits that name the organization or account exactly are accepted.
ACCEPTED = [
    ("organization-principal", lambda s: cache(s).grant_pull(iam.OrganizationPrincipal(ORG))),
    (
        "any-principal-with-an-exact-account",
        lambda s: cache(s).grant_pull(
            iam.AnyPrincipal().with_conditions(limited("StringEquals", "aws:PrincipalAccount", [OTHER]))
        ),
    ),
    (
        "any-principal-with-for-any-value-and-an-exact-org",
        lambda s: registry_statement(
            s,
            principals=[iam.AnyPrincipal()],
            conditions=limited("ForAnyValue:StringEquals", "aws:PrincipalOrgID", ORG),
        ),
    ),
    (
        # AWS documents PrincipalOrgPaths with a trailing wildcard after the organization ID and its path.
        "org-path-with-a-wildcard-after-the-organization",
        lambda s: registry_statement(
            s,
            principals=[iam.AnyPrincipal()],
            conditions=limited("ForAnyValue:StringLike", "aws:PrincipalOrgPaths", [f"{ORG}/r-ab12/ou-ab12-11111111/*"]),
        ),
    ),
    (
        "like-without-a-wildcard-is-exact",
        lambda s: registry_statement(
            s, principals=[iam.StarPrincipal()], conditions=limited("StringLike", "aws:PrincipalOrgID", ORG)
        ),
    ),
    (
        "the-account-as-a-token",
        lambda s: registry_statement(
            s,
            principals=[iam.AnyPrincipal()],
            conditions=limited("StringEquals", "aws:PrincipalAccount", Aws.ACCOUNT_ID),
        ),
    ),
    (
        "not-principal-in-a-deny",
        lambda s: (
            cache(s).grant_pull(iam.AccountPrincipal(OTHER)),
            registry_statement(s, effect=iam.Effect.DENY, not_principals=[iam.AccountPrincipal(OTHER)]),
        ),
    ),
    (
        "service-principal-with-an-exact-source-arn",
        lambda s: registry_statement(
            s,
            principals=[iam.ServicePrincipal("codebuild.amazonaws.com")],
            conditions=limited("ArnEquals", "aws:SourceArn", f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/ci"),
        ),
    ),
]


@pytest.mark.parametrize("build", [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_exact_positive_limits_are_accepted(stack, build):
    build(stack)

    assert _synth_policies(stack)


@pytest.mark.parametrize(
    "principal",
    [
        lambda: iam.ServicePrincipal("codebuild.amazonaws.com"),
        lambda: iam.CompositePrincipal(iam.ServicePrincipal("codebuild.amazonaws.com"), iam.AccountPrincipal(OTHER)),
    ],
    ids=["service", "composite-with-a-service"],
)
@pytest.mark.parametrize("scope", [RegistryPolicyScope.V1, RegistryPolicyScope.V2])
def test_a_granted_service_principal_is_limited_to_the_cache_account(stack, principal, scope):
    PullThroughCache(stack, "Cache", upstreams=[Upstream.quay()], registry_policy_scope=scope).grant_pull(principal())

    statements = [s for document in _synth_policies(stack) for s in document["Statement"]]
    with_service = [s for s in statements if "Service" in s["Principal"]]
    assert with_service, statements
    for statement in with_service:
        # The registry policy is an object ({"Ref": ...}); a repository policy a JSON string (flattened: TOKEN).
        assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] in ({"Ref": "AWS::AccountId"}, "TOKEN")
    assert not [p for d in _synth_policies(stack) for p in open_access_problems(d, "policy")]


def test_each_open_statement_is_reported_once_with_its_sid():
    document = {
        "Statement": [
            {"Sid": "A", "Effect": "Allow", "NotPrincipal": {"AWS": "*"}, "Action": "ecr:*"},
            {"Sid": "B", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}, "Action": "ecr:*"},
            {"Sid": "C", "Effect": "Allow", "Principal": "*", "Action": "ecr:*"},
        ]
    }

    problems = open_access_problems(document, "registry policy")

    assert [json.loads(p.split(": got ", 1)[1].rsplit("}. ", 1)[0] + "}")["Sid"] for p in problems] == ["A", "C"]
