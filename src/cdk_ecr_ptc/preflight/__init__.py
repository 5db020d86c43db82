"""Preflight: the deploy, simulated on a synthesized cloud assembly, before ``cdk deploy``.

It reads templates only (no CDK, no AWS calls): :func:`preflight` resolves every value as
CloudFormation would, runs the checks and returns the data ``schema.json`` describes;
:func:`to_markdown` and :func:`to_json` render it; ``main`` is the ``preflight`` command line.
The schema check needs cfn-lint (``pip install 'cdk-ecr-ptc[preflight]'``).
"""

from .assembly import AssemblyError, Stack, read_stacks
from .findings import Finding
from .render import to_json, to_markdown
from .run import CHECKS, preflight
from .schema import MissingExtra

__all__ = [
    "CHECKS",
    "AssemblyError",
    "Finding",
    "MissingExtra",
    "Stack",
    "preflight",
    "read_stacks",
    "to_json",
    "to_markdown",
]
