"""The image reference parser: Docker's grammar (distribution/reference's normalization cases), and the
cache URI built from a reference. Pure Python: no App is built here."""

import pytest

from cdk_ecr_ptc.images import (
    DOCKER_HUB,
    ImageReference,
    InvalidImageReference,
    cache_uri,
    canonical_host,
    is_ecr_host,
    parse,
)

SHA = "sha256:" + "a" * 64
SHA_B = "sha256:" + "0123456789abcdef" * 4
REGISTRY = "111122223333.dkr.ecr.us-east-1.amazonaws.com"

#: reference -> (host, repository, tag, digest), as ``docker pull`` normalizes it.
VALID = {
    "nginx": ("docker.io", "library/nginx", None, None),
    "nginx:1.27": ("docker.io", "library/nginx", "1.27", None),
    "nginx:latest": ("docker.io", "library/nginx", "latest", None),
    f"nginx@{SHA}": ("docker.io", "library/nginx", None, SHA),
    f"nginx:1.27@{SHA}": ("docker.io", "library/nginx", "1.27", SHA),
    "library/nginx": ("docker.io", "library/nginx", None, None),
    "prometheus/prometheus:v2.53.0": ("docker.io", "prometheus/prometheus", "v2.53.0", None),
    "docker.io/nginx": ("docker.io", "library/nginx", None, None),
    "docker.io/library/nginx:1.27": ("docker.io", "library/nginx", "1.27", None),
    "index.docker.io/nginx": ("docker.io", "library/nginx", None, None),
    "registry-1.docker.io/bitnami/redis:7.2": ("docker.io", "bitnami/redis", "7.2", None),
    "bitnami/redis": ("docker.io", "bitnami/redis", None, None),
    "a/b/c/d": ("docker.io", "a/b/c/d", None, None),
    "quay.io/prometheus/prometheus": ("quay.io", "prometheus/prometheus", None, None),
    f"quay.io/prometheus/prometheus@{SHA_B}": ("quay.io", "prometheus/prometheus", None, SHA_B),
    "registry.k8s.io/pause:3.9": ("registry.k8s.io", "pause", "3.9", None),
    "registry.k8s.io/ingress-nginx/controller:v1.11.2": (
        "registry.k8s.io",
        "ingress-nginx/controller",
        "v1.11.2",
        None,
    ),
    "public.ecr.aws/docker/library/nginx:1.27": ("public.ecr.aws", "docker/library/nginx", "1.27", None),
    "ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector:0.104.0": (
        "ghcr.io",
        "open-telemetry/opentelemetry-collector-releases/opentelemetry-collector",
        "0.104.0",
        None,
    ),
    "localhost/app": ("localhost", "app", None, None),
    "localhost:5000/app:dev": ("localhost:5000", "app", "dev", None),
    "localhost:5000/team/app": ("localhost:5000", "team/app", None, None),
    "myregistry:5000/app": ("myregistry:5000", "app", None, None),
    "registry.example.com:443/a/b:c": ("registry.example.com:443", "a/b", "c", None),
    "10.0.0.1:5000/app": ("10.0.0.1:5000", "app", None, None),
    "[::1]:5000/app": ("[::1]:5000", "app", None, None),
    "Quay.IO/coreos/etcd": ("quay.io", "coreos/etcd", None, None),
    "my-registry.example.com/app": ("my-registry.example.com", "app", None, None),
    "a.b/c": ("a.b", "c", None, None),
    "Foo/bar": ("foo", "bar", None, None),  # upper case in a first part makes it a host (splitDockerDomain)
    "repo/a.b_c__d-e--f": ("docker.io", "repo/a.b_c__d-e--f", None, None),
    "app:v1.0.0-rc.1_build": ("docker.io", "library/app", "v1.0.0-rc.1_build", None),
    "app:_private": ("docker.io", "library/app", "_private", None),
    "app:UPPER": ("docker.io", "library/app", "UPPER", None),
    "cgr.dev/chainguard/static:latest": ("cgr.dev", "chainguard/static", "latest", None),
    "myregistry.azurecr.io/team/app:1": ("myregistry.azurecr.io", "team/app", "1", None),
    "registry.gitlab.com/group/project/image:main": ("registry.gitlab.com", "group/project/image", "main", None),
}

#: reference -> a fragment of the error.
INVALID = {
    "": "empty",
    "Nginx": "lowercase",
    "library/Nginx": "lowercase",
    "Foo/Bar": "lowercase",  # upper case makes "Foo" a host; the path must still be lowercase
    "nginx:": "no tag",
    "nginx@": "digest is not valid",
    "nginx@sha256:abc": "digest is not valid",
    "nginx@" + "a" * 64: "no algorithm",
    "nginx@sha512:" + "a" * 128: "sha256 image digests only",
    "nginx@sha256:" + "A" * 64: "digest is not valid",
    "nginx:-bad": "tag is not valid",
    "nginx:.bad": "tag is not valid",
    "nginx:" + "a" * 129: "tag is not valid",
    "a" * 64: "64-character hex",
    "-nginx": "path is not valid",
    "nginx-": "path is not valid",
    "a//b": "path is not valid",
    "a/b/": "path is not valid",
    "/a": "path is not valid",
    "foo_bar.com:8080/app": "host is not valid",
    "-host.com/app": "host is not valid",
    "host.com:port/app": "host is not valid",
    "a..b/c": "host is not valid",
    "app@sha256:" + "a" * 64 + "@x": "digest is not valid",
    "docker.io/" + "a" * 250: "longer than 255",
    "a b": "not valid",
    "a:b:c": "path is not valid",
    "quay.io/": "path is not valid",
    "a@sha1": "digest is not valid",
}


@pytest.mark.parametrize("reference", VALID)
def test_parses_as_docker_does(reference):
    host, repository, tag, digest = VALID[reference]
    assert parse(reference) == ImageReference(host, repository, tag, digest)


@pytest.mark.parametrize("reference", INVALID)
def test_fails_on_invalid_references(reference):
    with pytest.raises(InvalidImageReference, match=INVALID[reference]):
        parse(reference)


def test_without_default_host_a_bare_name_keeps_no_host_and_no_library():
    assert parse("nginx:1", default_host=None) == ImageReference(None, "nginx", "1")
    assert parse("docker.io/nginx", default_host=None) == ImageReference(DOCKER_HUB, "library/nginx")


def test_renders_back_to_a_normalized_reference():
    assert str(parse("nginx:1.27")) == "docker.io/library/nginx:1.27"
    assert str(parse(f"quay.io/a/b@{SHA}")) == f"quay.io/a/b@{SHA}"


def test_error_message_has_the_library_format_after_the_path():
    with pytest.raises(InvalidImageReference) as error:
        parse("Nginx")
    assert str(error.value) == (
        "repository names must be lowercase: got 'Nginx'. Write 'nginx'; Docker and ECR reject upper case."
    )
    assert (error.value.problem, error.value.value) == ("repository names must be lowercase", "Nginx")


def test_canonical_host_names_docker_hub_once():
    assert {canonical_host(h) for h in ("docker.io", "index.docker.io", "registry-1.docker.io", "Docker.IO")} == {
        DOCKER_HUB
    }
    assert canonical_host("Quay.io") == "quay.io"


def test_recognizes_private_ecr_hosts_only():
    assert is_ecr_host(REGISTRY)
    assert is_ecr_host("111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn")
    assert is_ecr_host("111122223333.dkr.ecr-fips.us-east-1.amazonaws.com")
    assert not is_ecr_host("public.ecr.aws")
    assert not is_ecr_host("docker.io")
    assert not is_ecr_host(None)


# ---- cache URIs ------------------------------------------------------------------------------------


def hub(reference, **kw):
    return cache_uri(
        reference,
        registry_host=REGISTRY,
        prefix="docker-hub",
        upstream_host="registry-1.docker.io",
        docker_hub=True,
        **kw,
    )[0]


def test_full_docker_hub_reference_loses_its_host():
    assert hub("docker.io/library/nginx", tag="1.27") == f"{REGISTRY}/docker-hub/library/nginx:1.27"
    assert hub("docker.io/nginx:1.27") == f"{REGISTRY}/docker-hub/library/nginx:1.27"
    assert hub("nginx", tag="1.27") == f"{REGISTRY}/docker-hub/library/nginx:1.27"


def test_full_reference_of_the_rules_upstream_loses_its_host():
    uri, upstream = cache_uri(
        f"quay.io/prometheus/prometheus@{SHA}", registry_host=REGISTRY, prefix="quay", upstream_host="quay.io"
    )
    assert uri == f"{REGISTRY}/quay/prometheus/prometheus@{SHA}"
    assert upstream.digest == SHA
    assert (
        cache_uri(
            "registry.k8s.io/pause:3.9", registry_host=REGISTRY, prefix="kubernetes", upstream_host="registry.k8s.io"
        )[0]
        == f"{REGISTRY}/kubernetes/pause:3.9"
    )


def test_root_prefix_and_ecr_upstream_repository_prefix():
    upstream = "999988887777.dkr.ecr.eu-west-1.amazonaws.com"
    assert (
        cache_uri(
            f"{upstream}/team-a/app:1",
            registry_host=REGISTRY,
            prefix="team-a",
            upstream_host=upstream,
            upstream_repository_prefix="team-a",
        )[0]
        == f"{REGISTRY}/team-a/app:1"
    )
    assert cache_uri("app:1", registry_host=REGISTRY, prefix="ROOT", upstream_host=upstream)[0] == f"{REGISTRY}/app:1"
    with pytest.raises(InvalidImageReference, match="not under this rule's upstream repository prefix"):
        cache_uri(
            f"{upstream}/team-b/app",
            registry_host=REGISTRY,
            prefix="team-a",
            upstream_host=upstream,
            upstream_repository_prefix="team-a",
        )


def test_fails_on_a_tag_given_twice():
    with pytest.raises(InvalidImageReference, match="tag is given twice"):
        hub("prometheus/prometheus:v2.53.0", tag="v2.53.0")


def test_fails_on_a_digest_given_twice_or_with_a_tag():
    with pytest.raises(InvalidImageReference, match="digest is given twice"):
        hub(f"nginx@{SHA}", digest=SHA)
    with pytest.raises(InvalidImageReference, match="a tag or a digest, not both"):
        hub("nginx:1", digest=SHA)


def test_fails_on_a_digest_argument_without_algorithm():
    with pytest.raises(InvalidImageReference, match="no algorithm"):
        hub("nginx", digest="a" * 64)


def test_fails_on_another_upstreams_host():
    with pytest.raises(InvalidImageReference, match=r"another upstream than this rule's \(docker.io\)"):
        hub("quay.io/prometheus/prometheus")


def test_fails_on_a_host_when_the_upstream_is_unknown():
    with pytest.raises(InvalidImageReference, match="upstream is not known"):
        cache_uri("quay.io/a/b", registry_host=REGISTRY, prefix="quay", upstream_host=None)
