"""``python -m cdk_ecr_ptc COMMAND ...`` (and the ``cdk-ecr-ptc`` console script): the library's tools.

Each command lives in its own module, imported only when it runs, so that commands which read
templates start without the jsii runtime.
"""

from __future__ import annotations

import sys
from importlib import import_module

#: Command -> the module whose ``main(argv)`` runs it; ``argv`` starts with the command's name.
COMMANDS = {
    "report": "cdk_ecr_ptc.report.cli",
    "preflight": "cdk_ecr_ptc.preflight.cli",
    "warm": "cdk_ecr_ptc.warm_cli",
}

USAGE = 2


def main(argv: list[str] | None = None) -> int:
    """Runs the command named by ``argv[0]`` (default ``sys.argv[1:]``); returns its exit code."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in COMMANDS:
        print(f"usage: cdk-ecr-ptc {{{','.join(COMMANDS)}}} ...", file=sys.stderr)
        return 0 if args[:1] in (["-h"], ["--help"]) else USAGE
    command_main = import_module(COMMANDS[args[0]]).main
    return int(command_main(args))


if __name__ == "__main__":
    sys.exit(main())
