"""``python -m cdk_ecr_ptc report [cdk.out]``: the access report of a synthesized cloud assembly."""

import sys

from .report.cli import main

if __name__ == "__main__":
    sys.exit(main())
