"""The single registry policy of an account and Region."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Lazy, Validations
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk.interfaces import ResourceEnvironment
from constructs import Construct, IConstruct

from ._env import facts, partition, remember, repository_arn, resolved
from ._jsii import ListProducer, Producer, Validation
from ._ledger import Ledger
from ._statements import StatementSet, deployed_length, open_statements
from ._validation import check_account, check_prefix, policy_statements

#: The registry policy text limit of the ECR API and the CloudFormation schema.
MAX_POLICY_LENGTH = 10_240

#: What the upstream registry must allow a downstream cache account for ECR-to-ECR caching.
DOWNSTREAM_CACHE_ACTIONS = ("ecr:BatchGetImage", "ecr:BatchImportUpstreamImage", "ecr:GetDownloadUrlForLayer",
                            "ecr:GetImageCopyStatus")


@jsii.implements(iam.IResourceWithPolicyV2)
class RegistryPolicy(Construct):
    """Defines the registry policy (``AWS::ECR::RegistryPolicy``) of a stack's account and Region.

    A registry has exactly one policy: CloudFormation fails to create one where a policy already
    exists, and deleting the stack deletes the whole policy. So every construct of a stack shares
    the one returned by :meth:`of`, its text is built at synth from every statement added to it,
    and statements of an existing policy can be carried over with :meth:`carry_over`.
    """

    ID = "EcrRegistryPolicy"

    @classmethod
    def of(cls, scope: IConstruct) -> RegistryPolicy:
        """Returns the registry policy of ``scope``'s stack, defining it on first use.

        Args:
            scope: any construct of the stack.
        """
        policy = getattr(scope, "_cdk_ecr_ptc_registry_policy", None)
        if policy is None:
            stack = facts(scope).stack
            policy = remember(scope, "_cdk_ecr_ptc_registry_policy",
                              stack.node.try_find_child(cls.ID) or cls(stack, cls.ID))
        return policy

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self._statements = StatementSet()
        # JSON of statements built by statement_for, so add_to_resource_policy needs no jsii round trip.
        self._known_json: dict[str, dict] = {}
        # One list token per set of resources, so a grant's statement does not send every ARN across jsii.
        self._resource_lists: dict[tuple[str, ...], list[str]] = {}
        self._resource = ecr.CfnRegistryPolicy(self, "Resource", policy_text=Lazy.any(Producer(self.document)))
        self.node.add_validation(Validation(self._validate))
        Ledger.of(self).add_registry_policy(self)
        Validations.of(self).acknowledge(Acknowledgment(id="AwsSolutions::AwsSolutions-ECR1", reason=(
            "The registry policy's '*' principals are all limited by aws:PrincipalOrgID, aws:PrincipalOrgPaths "
            "or aws:PrincipalAccount: synth fails on any other '*' principal.")))

    @property
    def env(self) -> ResourceEnvironment:
        """The account and Region of the registry."""
        stack = facts(self)
        return ResourceEnvironment(account=stack.account, region=stack.region)

    @property
    def registry_id(self) -> str:
        """The registry ID (the account ID) once deployed."""
        return self._resource.attr_registry_id

    @property
    def is_empty(self) -> bool:
        """Tells whether the policy has no statement yet."""
        return self._statements.is_empty

    def add_to_resource_policy(self, statement: iam.PolicyStatement) -> iam.AddToResourcePolicyResult:
        """Adds a statement; Allow statements without a Sid are merged with others at synth.

        Args:
            statement: the statement, with principals.
        """
        known = self._known_json.pop(statement.__jsii_ref__.ref, None)
        self._statements.add(known if known is not None else statement.to_statement_json())
        return iam.AddToResourcePolicyResult(statement_added=True, policy_dependable=self._resource)

    def statement_for(self, principal: iam.IPrincipal, actions: Sequence[str],
                      resources: Sequence[str]) -> iam.PolicyStatement:
        """Builds the Allow statement of a grant to ``principal``, for :meth:`add_to_resource_policy`.

        An account principal is written ``arn:<partition>:iam::<account>:root`` with this registry's
        partition, so that equal accounts merge (CDK renders a token of its own per ``AccountPrincipal``).
        Its statement is built from plain data, its resources as one list token that resolves to them.
        """
        if isinstance(principal, iam.AccountPrincipal) and resolved(principal.account_id):
            document = {"Effect": "Allow", "Principal": {"AWS": account_root(partition(self), principal.account_id)},
                        "Action": list(actions), "Resource": list(resources)}
            statement = iam.PolicyStatement.from_json({**document, "Resource": self.resource_list(resources)})
            self._known_json[statement.__jsii_ref__.ref] = document
            return statement
        return iam.PolicyStatement(principals=[principal], actions=list(actions), resources=list(resources))

    def resource_list(self, resources: Sequence[str]) -> list[str]:
        """``resources`` as a list token, one per distinct list (cheap to pass to jsii again and again)."""
        key = tuple(resources)
        if key not in self._resource_lists:
            self._resource_lists[key] = Lazy.list(ListProducer(list(resources)))
        return self._resource_lists[key]

    def carry_over(self, policy: str | Mapping[str, Any]) -> None:
        """Keeps the statements of the registry policy that already exists in the account.

        CloudFormation cannot create a registry policy where one exists, and this one replaces it
        whole. Export the current one with ``aws ecr get-registry-policy --query policyText
        --output text``, pass it here, then delete it before the first deploy.

        Args:
            policy: the existing policy text (JSON string or parsed document).
        """
        for statement in policy_statements(self, "carry_over", policy):
            self._statements.add(dict(statement))

    def grant_downstream_cache(self, account: str, *, repository_prefix: str | None = None) -> iam.Grant:
        """Lets a cache registry in ``account`` pull through cache from this (upstream) registry.

        This is the upstream half of cross-account ECR-to-ECR caching. Policies that grant these
        actions at registry level need the registry policy scope V2 (the default for new registries).

        Args:
            account: the downstream (cache) account.
            repository_prefix: only repositories under this prefix. Default: - every repository.
        """
        check_account(self, "grant_downstream_cache account", account)
        if repository_prefix is not None:
            check_prefix(self, "repository_prefix", repository_prefix)
        grantee = iam.AccountPrincipal(account)
        resources = [repository_arn(self, f"{repository_prefix}/*" if repository_prefix else "*")]
        statement = iam.PolicyStatement(principals=[resource_policy_principal(partition(self), grantee)],
                                        actions=list(DOWNSTREAM_CACHE_ACTIONS),
                                        resources=resources)
        return iam.Grant.add_statement_to_resource_policy(statement=statement, resource=self, grantee=grantee,
                                                          actions=list(DOWNSTREAM_CACHE_ACTIONS),
                                                          resource_arns=resources)

    def document(self) -> dict:
        """Renders the policy document as deployed."""
        return self._statements.document()

    def _validate(self) -> list[str]:
        if self._statements.is_empty:
            return ["the registry policy has no statements; grant a principal that needs the registry policy, "
                    "or do not create it (RegistryPolicy.of creates it)."]
        document = self.document()
        if open_statements(document):
            return [f"the registry policy would allow any AWS account: {open_statements(document)}. Limit '*' "
                    "principals with an aws:PrincipalOrgID condition (iam.OrganizationPrincipal) or name accounts."]
        length = deployed_length(document)
        if length > MAX_POLICY_LENGTH:
            return [f"the registry policy would be {length} characters; ECR allows {MAX_POLICY_LENGTH}. "
                    "Grant organizations (OrganizationPrincipal) or whole accounts instead of many principals, "
                    "or grant on the cache rather than rule by rule."]
        return []


def account_root(partition_name: str, account: str) -> str:
    """The ARN of an account's root principal."""
    return f"arn:{partition_name}:iam::{account}:root"


def resource_policy_principal(partition_name: str, principal: iam.IPrincipal) -> iam.IPrincipal:
    """Renders account principals with ``partition_name``, so that equal accounts merge in a policy.

    CDK's ``AccountPrincipal`` renders a token of its own for every instance.
    """
    if isinstance(principal, iam.AccountPrincipal) and resolved(principal.account_id):
        return iam.ArnPrincipal(account_root(partition_name, principal.account_id))
    return principal
