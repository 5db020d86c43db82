"""Access report: reads a synthesized cloud assembly and tells who can first-pull through each rule.

It works on the CloudFormation templates only (no CDK, no AWS calls): ``read_assembly`` loads the
stacks, ``build_report`` evaluates them into the data ``schema.json`` describes, and ``to_markdown``
or ``to_json`` renders it. ``main`` is the ``report`` command line.
"""

from .assembly import AssemblyError, StackArtifact, read_assembly
from .build import build_report
from .cli import main
from .render import to_json, to_markdown, to_mermaid

__all__ = [
    "AssemblyError",
    "StackArtifact",
    "build_report",
    "main",
    "read_assembly",
    "to_json",
    "to_markdown",
    "to_mermaid",
]
