"""Snapshots of the integ apps: synthesized offline, normalized, compared with the committed ones.

integ-runner 2.197.10 (the newest on npm) bundles cloud-assembly schema 53 and cannot read what
aws-cdk-lib 2.275 writes (schema 55: "AssemblyVersionMismatch"), so its own snapshot comparison cannot
run here; this module does the offline part: each ``integ_*.py`` is synthesized into a temporary
directory and its templates and ``integ.json`` are compared with ``<app>.snapshot/``, the layout
integ-runner uses. ``scripts/integ-snapshots --update`` rewrites them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

INTEG = Path(__file__).resolve().parent
#: Kept in a snapshot: what the library renders and what the test asserts. Asset directories, tree.json
#: and the manifest are left out (their hashes and versions change with every CDK release).
KEPT_SUFFIXES = (".template.json", "integ.json")


def apps() -> list[Path]:
    """The integ apps, as integ-runner discovers them for Python (``integ_*.py``)."""
    return sorted(INTEG.glob("integ_*.py"))


def synth(app: Path, outdir: Path) -> dict[str, Any]:
    """Synthesizes ``app`` into ``outdir``; returns its snapshot files, normalized, by relative path."""
    env = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_VERSION_CHECK": "1",
    }
    subprocess.run([sys.executable, app.name], cwd=INTEG, env=env, check=True, capture_output=True, timeout=600)
    return read(outdir)


def read(directory: Path) -> dict[str, Any]:
    """The snapshot files under ``directory``, normalized, by relative path."""
    found = {}
    for path in sorted(directory.rglob("*.json")):
        if path.name.endswith(KEPT_SUFFIXES):
            found[str(path.relative_to(directory))] = _normalize(json.loads(path.read_text()))
    return found


def _normalize(document: dict[str, Any]) -> dict[str, Any]:
    """Drops what changes on every synth: the CDK's version reporting and the assertions' time ``salt``."""
    resources = document.get("Resources")
    if isinstance(resources, dict):
        resources.pop("CDKMetadata", None)
        for resource in resources.values():
            if str(resource.get("Type", "")).startswith("Custom::DeployAssert"):
                (resource.get("Properties") or {}).pop("salt", None)
        conditions = document.get("Conditions") or {}
        conditions.pop("CDKMetadataAvailable", None)
        if "Conditions" in document and not conditions:
            del document["Conditions"]
    return document


def snapshot_dir(app: Path) -> Path:
    return app.with_name(app.name + ".snapshot")


def differences(app: Path) -> list[str]:
    """What differs between a fresh synth of ``app`` and its committed snapshot (empty when none)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = synth(app, Path(tmp))
    committed = read(snapshot_dir(app)) if snapshot_dir(app).is_dir() else {}
    found = [f"{app.name}: {name} is new" for name in fresh.keys() - committed.keys()]
    found += [f"{app.name}: {name} is gone" for name in committed.keys() - fresh.keys()]
    found += [
        f"{app.name}: {name} changed" for name in fresh.keys() & committed.keys() if fresh[name] != committed[name]
    ]
    return sorted(found)


def update(app: Path) -> None:
    """Rewrites ``app``'s snapshot from a fresh synth."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = synth(app, Path(tmp))
    target = snapshot_dir(app)
    for old in sorted(target.rglob("*"), reverse=True) if target.exists() else []:
        old.unlink() if old.is_file() else old.rmdir()
    for name, document in fresh.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")


def main(argv: list[str]) -> int:
    """``--update`` rewrites every snapshot; otherwise compares, printing each difference (exit 1)."""
    if argv not in ([], ["--update"]):
        print("usage: scripts/integ-snapshots [--update]", file=sys.stderr)
        return 2
    if argv:
        for app in apps():
            update(app)
            print(f"updated {snapshot_dir(app).relative_to(INTEG.parent)}")
        return 0
    found = [line for app in apps() for line in differences(app)]
    for line in found:
        print(line)
    if found:
        print("integ snapshots differ: review, then run scripts/integ-snapshots --update", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
