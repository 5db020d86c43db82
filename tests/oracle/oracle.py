"""An independent permission oracle for synthesized pull-through cache apps.

It reads only the synthesized templates: every identity policy attached to a role or user, every
``AWS::ECR::RegistryPolicy`` and every ``AWS::ECR::RepositoryCreationTemplate`` repository policy,
resolves the intrinsics CDK renders (``Ref``/``Fn::GetAtt``/``Fn::Join``/``Fn::Sub``/
``Fn::ImportValue``) with each stack's account and Region, and asks principalmapper whether a
principal may call an action on a resource. No library code takes part in a decision.

Model (FACTS §6, §7):

- the registry policy is read for the scope its ``cdk-ecr-ptc:registryPolicyScope`` resource metadata
  declares (none: V1, the safe reading). Under V2 it is a resource policy for every ECR action on every
  repository of its account and Region; under V1 only for ``ecr:ReplicateImage``,
  ``ecr:BatchImportUpstreamImage`` and ``ecr:CreateRepository`` (FACTS §0, §7);
- a first pull creates the repository before the image is served, so a creation template's repository
  policy is consulted for the pull actions (``BatchGetImage``, ``GetDownloadUrlForLayer``,
  ``BatchCheckLayerAvailability``) of a first pull, and for every action once the repository exists
  (``existing=True``). That ECR applies the new repository's policy within the first pull is
  [UNVERIFIED] without an account; it is what the library's V1 rendering relies on (FACTS §0);
- a user's identity policies include those of the groups it is in (``AWS::IAM::User.Groups``,
  ``AWS::IAM::UserToGroupAddition``), as IAM evaluates them;
- principals the app cannot attach policies to (other accounts, organization members, users named
  by ARN) are modelled by :func:`external` with the identity policy "their side" would have.
"""

from __future__ import annotations

import collections
import collections.abc
import copy
import fnmatch
import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# principalmapper 1.1.5 imports collections.Mapping, gone since Python 3.10 (FACTS §11).
collections.Mapping = collections.abc.Mapping  # type: ignore[attr-defined]
collections.MutableMapping = collections.abc.MutableMapping  # type: ignore[attr-defined]

from aws_cdk import Stack, Token  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402
from principalmapper.common.nodes import Node  # noqa: E402
from principalmapper.common.policies import Policy  # noqa: E402
from principalmapper.querying.query_interface import local_check_authorization_full  # noqa: E402

#: What a first pull through the cache is authorized for, on the cache repository (FACTS §6.2, §6.3).
FIRST_PULL = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository")
#: The ordinary pull half of :data:`FIRST_PULL`.
PULL = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
#: The pull-through half of :data:`FIRST_PULL` (``grant_pull_through``).
PULL_THROUGH = ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository")
#: What a V1 registry policy applies to (FACTS §0).
V1_REGISTRY_ACTIONS = frozenset({"ecr:ReplicateImage", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"})
#: The actions of a first pull that run once the repository exists (its policy then applies).
AFTER_CREATE = frozenset({"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"})
#: Needed on the first pull when a matching creation template tags the repository it creates.
TAG_RESOURCE = "ecr:TagResource"
#: The one ECR action without resource-level permission.
AUTH_TOKEN = "ecr:GetAuthorizationToken"
#: The ECR-to-ECR custom role's documented actions (FACTS §6.5), besides ``AUTH_TOKEN``.
ECR_TO_ECR_ROLE = (
    "ecr:BatchGetImage",
    "ecr:BatchImportUpstreamImage",
    "ecr:CompleteLayerUpload",
    "ecr:GetDownloadUrlForLayer",
    "ecr:GetImageCopyStatus",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)
#: The part of :data:`ECR_TO_ECR_ROLE` the role needs on the cache's own repositories: writing the image.
ECR_TO_ECR_WRITE = ("ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart")
#: What an upstream registry must allow the downstream account (FACTS §6.4).
DOWNSTREAM_CACHE = (
    "ecr:BatchGetImage",
    "ecr:BatchImportUpstreamImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:GetImageCopyStatus",
)

#: Account and Region used to resolve environment-agnostic stacks.
AGNOSTIC_ACCOUNT = "123456789012"
AGNOSTIC_REGION = "us-east-1"

#: "Their side" of a principal in another account: it may call any ECR action if the resource allows it.
ECR_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}
#: "Their side" of a same-account principal named only by ARN: just the token, which has no resource.
TOKEN_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": AUTH_TOKEN, "Resource": "*"}]}
#: IAM's quotas on the aggregate size of an entity's inline policies, whitespace not counted (FACTS §0).
INLINE_POLICY_QUOTA = {"user": 2_048, "group": 5_120, "role": 10_240}
#: IAM's quota on the size of one customer managed policy, whitespace not counted.
MANAGED_POLICY_QUOTA = 6_144


def policy_size(document: dict) -> int:
    """The size IAM counts for a policy document: its JSON text without whitespace."""
    return len(re.sub(r"\s", "", json.dumps(document)))


class UnmodelledPolicy(Exception):
    """Raised when a principal's permissions depend on something the oracle cannot read."""


def partition_of(region: str) -> str:
    """The partition of a Region name."""
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def repository_arn(account: str, region: str, name: str) -> str:
    """The ARN of repository ``name`` in the registry of ``account`` and ``region``."""
    return f"arn:{partition_of(region)}:ecr:{region}:{account}:repository/{name}"


def sample_repository(prefix: str, image: str = "some/image") -> str:
    """A repository a first pull through a rule with ``prefix`` creates (``ROOT``: no prefix)."""
    return image if prefix == "ROOT" else f"{prefix.rstrip('/')}/{image}"


def covers(prefix: str, repository: str) -> bool:
    """Tells whether a rule prefix's repositories (``<prefix>/*``, or all for ROOT) include ``repository``."""
    return prefix == "ROOT" or repository.startswith(prefix.rstrip("/") + "/")


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


@dataclass
class Principal:
    """A principal to evaluate: a principalmapper node plus the request context it brings."""

    label: str
    node: Node
    context: dict[str, str] = field(default_factory=dict)
    unmodelled: list[str] = field(default_factory=list)

    @property
    def account(self) -> str:
        return self.node.arn.split(":")[4]


def _node(arn: str, documents: Iterable[dict]) -> Node:
    is_role = ":role/" in arn
    policies = [Policy(arn, f"policy{i}", doc) for i, doc in enumerate(documents)]
    return Node(
        arn,
        "AID" + re.sub(r"[^A-Za-z0-9]", "", arn)[-16:].upper(),
        policies,
        None,
        {"Version": "2012-10-17", "Statement": []} if is_role else None,
        None,
        0,
        False,
        False,
        None,
        False,
        {},
    )


def external(arn: str, identity: dict = ECR_ALL, *, org_id: str | None = None, label: str | None = None) -> Principal:
    """A principal outside the app (or outside its templates), with the identity policy of its own side.

    Args:
        arn: the user or role ARN.
        identity: its identity policy. Default: - ``ecr:*`` on ``*``.
        org_id: its ``aws:PrincipalOrgID``. Default: - not in an organization.
        label: a name for messages. Default: - the ARN.
    """
    context = {"aws:PrincipalOrgID": org_id} if org_id else {}
    return Principal(label or arn, _node(arn, [identity]), context)


@dataclass(frozen=True)
class PolicySource:
    """One policy document found in a template, and where."""

    kind: str  # "identity" | "registry" | "repository-template" | "trust"
    where: str  # "<stack>/<logical id>"
    document: dict


@dataclass
class _StackModel:
    name: str
    account: str
    region: str
    resources: dict[str, dict]
    outputs: dict[str, Any]

    @property
    def partition(self) -> str:
        return partition_of(self.region)


def _env(stack: Stack) -> tuple[str, str]:
    account = stack.account if not Token.is_unresolved(stack.account) else AGNOSTIC_ACCOUNT
    region = stack.region if not Token.is_unresolved(stack.region) else AGNOSTIC_REGION
    return account, region


class AppOracle:
    """The permissions an app's templates grant, evaluated with principalmapper.

    Args:
        stacks: every stack of one app that holds relevant policies; the app is synthesized on
            first use (``Template.from_stack``), so build the oracle after the app is complete.
    """

    def __init__(self, stacks: Sequence[Stack]) -> None:
        self._stacks = [
            _StackModel(
                stack.stack_name,
                *_env(stack),
                (t := Template.from_stack(stack).to_json()).get("Resources", {}),
                t.get("Outputs", {}),
            )
            for stack in stacks
        ]
        self._exports: dict[str, tuple[_StackModel, Any]] = {}
        for model in self._stacks:
            for output in model.outputs.values():
                if "Export" in output:
                    self._exports[self._resolve(model, output["Export"]["Name"])] = (model, output["Value"])
        self.policies: list[PolicySource] = []
        self._identity: dict[str, list[dict]] = collections.defaultdict(list)  # principal ARN -> documents
        self._unmodelled: dict[str, list[str]] = collections.defaultdict(list)
        self._registry: dict[tuple[str, str], list[dict]] = collections.defaultdict(list)  # statements
        self._scope: dict[tuple[str, str], str] = {}  # registry-policy scope, from the resource metadata
        self._templates: dict[tuple[str, str], list[dict]] = collections.defaultdict(list)
        self._groups: dict[str, set[str]] = collections.defaultdict(set)  # user ARN -> group ARNs
        self._inline: collections.Counter[str] = collections.Counter()  # entity ARN -> inline policy size
        self._managed_sizes: dict[str, int] = {}  # "<stack>/<logical id>" -> size
        for model in self._stacks:
            self._read(model)

    # ---- template reading -------------------------------------------------------------------

    def _principal_arn(self, model: _StackModel, kind: str, name: str) -> str:
        return f"arn:{model.partition}:iam::{model.account}:{kind}/{name}"

    def _name(self, model: _StackModel, logical_id: str) -> str:
        resource = model.resources[logical_id]
        key = {
            "AWS::IAM::Role": "RoleName",
            "AWS::IAM::User": "UserName",
            "AWS::IAM::Group": "GroupName",
            "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
        }.get(resource["Type"])
        name = resource.get("Properties", {}).get(key) if key else None
        return self._resolve(model, name) if name is not None else logical_id

    def _ref(self, model: _StackModel, target: str) -> str:
        pseudo = {
            "AWS::Partition": model.partition,
            "AWS::AccountId": model.account,
            "AWS::Region": model.region,
            "AWS::StackName": model.name,
            "AWS::URLSuffix": "amazonaws.com.cn" if model.partition == "aws-cn" else "amazonaws.com",
        }
        if target in pseudo:
            return pseudo[target]
        kind = model.resources.get(target, {}).get("Type")
        if kind == "AWS::IAM::ManagedPolicy":
            return self._principal_arn(model, "policy", self._name(model, target))
        if kind == "AWS::SecretsManager::Secret":
            secret = model.resources[target].get("Properties", {}).get("Name", target)
            name = self._resolve(model, secret)
            return f"arn:{model.partition}:secretsmanager:{model.region}:{model.account}:secret:{name}-AbCdEf"
        if kind in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
            return self._name(model, target)
        return f"<Ref {target}>"

    def _get_att(self, model: _StackModel, target: str, attribute: str) -> str:
        kind = model.resources.get(target, {}).get("Type")
        if attribute == "Arn" and kind in ("AWS::IAM::Role", "AWS::IAM::User"):
            return self._principal_arn(model, "role" if kind == "AWS::IAM::Role" else "user", self._name(model, target))
        return f"<{target}.{attribute}>"

    def _resolve(self, model: _StackModel, value: Any) -> Any:
        """Resolves the intrinsics CDK renders, with the stack's account, Region and partition."""
        if isinstance(value, list):
            return [self._resolve(model, v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(model, arg)
            if key == "Fn::GetAtt":
                target, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._get_att(model, target, attribute)
            if key == "Fn::Join":
                return arg[0].join(str(self._resolve(model, part)) for part in self._resolve(model, arg[1]))
            if key == "Fn::Select":
                return self._resolve(model, arg[1])[int(self._resolve(model, arg[0]))]
            if key == "Fn::Split":
                return self._resolve(model, arg[1]).split(arg[0])
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg

                def sub(match: re.Match) -> str:
                    name = match.group(1)
                    if name in variables:
                        return str(self._resolve(model, variables[name]))
                    if "." in name and not name.startswith("AWS::"):
                        return self._get_att(model, *name.split(".", 1))
                    return self._ref(model, name)

                return re.sub(r"\$\{([^}!]+)\}", sub, text)
            if key == "Fn::ImportValue":
                owner, exported = self._exports[self._resolve(model, arg)]
                return self._resolve(owner, exported)
        return {k: self._resolve(model, v) for k, v in value.items()}

    def _attach(self, model: _StackModel, document: dict, props: dict, *, inline: bool) -> None:
        for kind, key in (("role", "Roles"), ("user", "Users"), ("group", "Groups")):
            for name in self._resolve(model, props.get(key, []) or []):
                arn = self._principal_arn(model, kind, name)
                self._identity[arn].append(document)
                if inline:
                    self._inline[arn] += policy_size(document)

    def _read(self, model: _StackModel) -> None:
        managed = {
            self._ref(model, lid): self._resolve(model, r["Properties"]["PolicyDocument"])
            for lid, r in model.resources.items()
            if r["Type"] == "AWS::IAM::ManagedPolicy"
        }
        for logical_id, resource in model.resources.items():
            kind, props = resource["Type"], resource.get("Properties", {})
            where = f"{model.name}/{logical_id}"
            if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                document = self._resolve(model, props["PolicyDocument"])
                self.policies.append(PolicySource("identity", where, document))
                self._attach(model, document, props, inline=kind == "AWS::IAM::Policy")
                if kind == "AWS::IAM::ManagedPolicy":
                    self._managed_sizes[where] = policy_size(document)
            elif kind == "AWS::IAM::UserToGroupAddition":
                group = self._principal_arn(model, "group", self._resolve(model, props["GroupName"]))
                for name in self._resolve(model, props["Users"]):
                    self._groups[self._principal_arn(model, "user", name)].add(group)
            elif kind in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
                entity = {"AWS::IAM::Role": "role", "AWS::IAM::User": "user", "AWS::IAM::Group": "group"}[kind]
                arn = self._principal_arn(model, entity, self._name(model, logical_id))
                self._identity.setdefault(arn, [])
                for group in self._resolve(model, props.get("Groups", []) or []):
                    self._groups[arn].add(self._principal_arn(model, "group", group))
                if "AssumeRolePolicyDocument" in props:
                    self.policies.append(
                        PolicySource("trust", where, self._resolve(model, props["AssumeRolePolicyDocument"]))
                    )
                for inline in props.get("Policies", []) or []:
                    document = self._resolve(model, inline["PolicyDocument"])
                    self.policies.append(PolicySource("identity", where, document))
                    self._identity[arn].append(document)
                    self._inline[arn] += policy_size(document)
                for policy_arn in self._resolve(model, props.get("ManagedPolicyArns", []) or []):
                    if policy_arn in managed:
                        self._identity[arn].append(managed[policy_arn])
                    else:  # an AWS managed policy, or one of another stack: its document is not here
                        self._unmodelled[arn].append(f"managed policy {policy_arn}")
                if "PermissionsBoundary" in props:
                    self._unmodelled[arn].append("permissions boundary")
            elif kind == "AWS::ECR::RegistryPolicy":
                text = self._resolve(model, props["PolicyText"])
                document = json.loads(text) if isinstance(text, str) else text
                self.policies.append(PolicySource("registry", where, document))
                self._registry[(model.account, model.region)].extend(_as_list(document["Statement"]))
                self._scope[(model.account, model.region)] = (resource.get("Metadata") or {}).get(
                    "cdk-ecr-ptc:registryPolicyScope", "V1"
                )
            elif kind == "AWS::ECR::RepositoryCreationTemplate":
                template = self._resolve(model, props)
                if "RepositoryPolicy" in template:
                    template["RepositoryPolicy"] = json.loads(template["RepositoryPolicy"])
                    self.policies.append(PolicySource("repository-template", where, template["RepositoryPolicy"]))
                self._templates[(model.account, model.region)].append(template)

    def resources(self, kind: str) -> list[tuple[str, dict]]:
        """Every resource of type ``kind`` as ``(stack/logical id, properties)``, intrinsics resolved.

        References to secrets resolve to an ARN with a made-up six-character suffix; anything the
        oracle cannot resolve becomes a ``<...>`` placeholder.
        """
        return [
            (f"{m.name}/{logical_id}", self._resolve(m, r.get("Properties", {})))
            for m in self._stacks
            for logical_id, r in m.resources.items()
            if r["Type"] == kind
        ]

    # ---- principals -------------------------------------------------------------------------

    def principal(self, arn: str, *, context: dict[str, str] | None = None) -> Principal:
        """The principal with ``arn``, with the identity policies the templates attach to it (a user: also
        those of its groups)."""
        if arn not in self._identity:
            raise KeyError(f"no role or user {arn} in the templates; known: {sorted(self._identity)}")
        return self.named(arn, context=context)

    def named(self, arn: str, *, context: dict[str, str] | None = None) -> Principal:
        """The role or user ``arn`` with whatever identity policies the templates attach to it, possibly none
        (say, a role of the deploying account that only shares its name with an imported one)."""
        documents = [*self._identity.get(arn, []), *(d for g in sorted(self._groups[arn]) for d in self._identity[g])]
        return Principal(arn, _node(arn, documents), dict(context or {}), self._unmodelled.get(arn, []))

    def inline_policy_sizes(self) -> dict[str, int]:
        """The aggregate size of each role's, user's and group's inline policies (``AWS::IAM::Policy`` and the
        entity's ``Policies``), by entity ARN, as IAM's quota counts it (:data:`INLINE_POLICY_QUOTA`)."""
        return dict(self._inline)

    def managed_policy_sizes(self) -> dict[str, int]:
        """The size of each customer managed policy, by ``<stack>/<logical id>`` (:data:`MANAGED_POLICY_QUOTA`)."""
        return dict(self._managed_sizes)

    def principal_of(self, construct: Any) -> Principal:
        """The principal of a role or user construct of the app (defined or imported)."""
        stack = Stack.of(construct)
        model = next(m for m in self._stacks if m.name == stack.stack_name)
        child = construct.node.default_child
        if child is not None:
            logical_id = stack.resolve(child.logical_id)
            kind = "role" if model.resources[logical_id]["Type"] == "AWS::IAM::Role" else "user"
            return self.principal(self._principal_arn(model, kind, self._name(model, logical_id)))
        return self.principal(self._principal_arn(model, "role", construct.role_name))  # imported role

    def role_arns(self) -> list[str]:
        """Every role and user ARN the templates define or attach policies to."""
        return sorted(self._identity)

    # ---- evaluation -------------------------------------------------------------------------

    def _template_for(self, account: str, region: str, repository: str) -> dict | None:
        """The creation template ECR applies to a new pull-through cache repository (most specific prefix)."""
        best, best_length = None, -1
        for template in self._templates.get((account, region), []):
            if "PULL_THROUGH_CACHE" not in template.get("AppliedFor", []):
                continue
            prefix = template["Prefix"]
            length = 0 if prefix == "ROOT" else len(prefix.rstrip("/"))
            if (prefix == "ROOT" or repository.startswith(prefix.rstrip("/") + "/")) and length > best_length:
                best, best_length = template, length
        return best

    def first_pull_actions(self, repository_arn_: str) -> tuple[str, ...]:
        """The repository actions a first pull into ``repository_arn_`` is authorized for."""
        _, _, _, region, account, resource = repository_arn_.split(":", 5)
        template = self._template_for(account, region, resource.removeprefix("repository/"))
        return FIRST_PULL + ((TAG_RESOURCE,) if template and template.get("ResourceTags") else ())

    def resource_policy(self, repository_arn_: str, *, existing: bool = False, action: str | None = None) -> dict:
        """The resource policy ECR evaluates for ``action`` on ``repository_arn_``: the registry policy (for
        every action under scope V2, for the V1 actions under V1), plus the creation template's repository
        policy once the repository exists (which, for the pull actions, a first pull makes it)."""
        _, _, _, region, account, resource = repository_arn_.split(":", 5)
        statements = []
        if self._scope.get((account, region)) == "V2" or action is None or action in V1_REGISTRY_ACTIONS:
            statements += self._registry.get((account, region), [])
        template = self._template_for(account, region, resource.removeprefix("repository/"))
        if (existing or action in AFTER_CREATE) and template and "RepositoryPolicy" in template:
            statements += _as_list(template["RepositoryPolicy"]["Statement"])
        return {"Version": "2012-10-17", "Statement": statements}

    def allows(self, principal: Principal, action: str, resource: str, *, existing: bool = False) -> bool:
        """Tells whether ``principal`` may call ``action`` on ``resource`` (an ECR ARN or ``*``)."""
        if principal.unmodelled:
            raise UnmodelledPolicy(f"{principal.label}: {principal.unmodelled}")
        if resource == "*":
            return local_check_authorization_full(principal.node, action, resource, principal.context)
        owner = resource.split(":")[4]
        return local_check_authorization_full(
            principal.node,
            action,
            resource,
            principal.context,
            self.resource_policy(resource, existing=existing, action=action),
            owner,
        )

    def denied(self, principal: Principal, actions: Iterable[str], resource: str, **kw: bool) -> list[str]:
        """The ``actions`` that ``principal`` may not call on ``resource``."""
        return [a for a in actions if not self.allows(principal, a, resource, **kw)]

    def allowed(self, principal: Principal, actions: Iterable[str], resource: str, **kw: bool) -> list[str]:
        """The ``actions`` that ``principal`` may call on ``resource``."""
        return [a for a in actions if self.allows(principal, a, resource, **kw)]

    # ---- what-if ----------------------------------------------------------------------------

    def without_registry_principal(self, principal_value: str) -> AppOracle:
        """A copy in which no registry-policy statement names ``principal_value`` (an ARN or ``*``)."""
        clone = copy.copy(self)
        clone._registry = collections.defaultdict(list)
        for key, statements in self._registry.items():
            for statement in statements:
                statement = copy.deepcopy(statement)
                principal = statement.get("Principal")
                if isinstance(principal, dict) and "AWS" in principal:
                    kept = [p for p in _as_list(principal["AWS"]) if p != principal_value]
                    if not kept:
                        continue
                    principal["AWS"] = kept
                clone._registry[key].append(statement)
        return clone

    # ---- static checks ----------------------------------------------------------------------

    def wildcard_ecr_grants(self) -> list[str]:
        """Every Allow statement that grants an ECR action other than the token on all repositories.

        "All repositories" is ``*``, any ``NotResource``, or an ECR ARN whose Region or account is a
        wildcard. ``NotAction`` and action wildcards that reach a repository action count too.
        """
        findings = []
        for source in self.policies:
            if source.kind == "trust":
                continue
            for statement in _as_list(source.document.get("Statement", [])):
                if statement.get("Effect") != "Allow":
                    continue
                resources = _as_list(statement.get("Resource", []))
                everywhere = "NotResource" in statement or any(_is_everywhere(r) for r in resources)
                if not everywhere:
                    continue
                if "NotAction" in statement:
                    findings.append(f"{source.where}: NotAction on {resources}")
                    continue
                for action in _as_list(statement.get("Action", [])):
                    if _reaches_repository_action(action):
                        findings.append(f"{source.where} ({source.kind}): {action} on {resources}")
        return findings

    def actions(self) -> set[str]:
        """Every action named in an identity, registry or repository-template policy."""
        names = set()
        for source in self.policies:
            if source.kind == "trust":
                continue
            for statement in _as_list(source.document.get("Statement", [])):
                names.update(_as_list(statement.get("Action", [])) + _as_list(statement.get("NotAction", [])))
        return names

    def statements(self, kinds: Sequence[str] = ("identity", "registry", "repository-template")) -> list[dict]:
        """Every statement of the given policy kinds."""
        return [s for p in self.policies if p.kind in kinds for s in _as_list(p.document.get("Statement", []))]


def _reaches_repository_action(action: str) -> bool:
    """Tells whether ``action`` (possibly a wildcard) covers an ECR action other than the token."""
    service, _, name = action.partition(":")
    if action != "*" and service.lower() != "ecr":
        return False
    return any(
        fnmatch.fnmatchcase(a.lower(), action.lower() if action != "*" else "*")
        for a in _ecr_actions()
        if a.lower() != AUTH_TOKEN.lower()
    )


@functools.cache
def _ecr_actions() -> tuple[str, ...]:
    from policy_sentry.querying.actions import get_actions_for_service

    return tuple(get_actions_for_service("ecr"))


def _is_everywhere(resource: str) -> bool:
    if resource == "*":
        return True
    parts = resource.split(":", 5)
    return len(parts) == 6 and parts[2] in ("ecr", "*") and ("*" in parts[3] or "*" in parts[4] or parts[3] == "")
