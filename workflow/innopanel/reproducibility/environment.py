"""The environment a reference was made in: what output bytes may depend on.

Recorded in ``results/<study>/MANIFEST.environment.json`` by ``make reference``; ``make verify``
names every component that differs, so a failure on another set-up says where to look.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import zlib
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

LOCK_FILE = "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==")


def pinned_packages(lock: Path) -> list[str]:
    """The names of the packages a lock file pins (``name==version`` lines), normalised."""
    return [
        match.group(1).lower().replace("_", "-")
        for line in lock.read_text(encoding="utf-8").splitlines()
        if (match := PIN.match(line))
    ]


def environment(root: Path) -> dict[str, object]:
    """What output bytes may depend on: Python, platform, zlib, FreeType, pinned packages."""
    lock = root / LOCK_FILE
    names = pinned_packages(lock) if lock.is_file() else []
    packages = {}
    for name in sorted(names):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    try:
        from matplotlib import ft2font

        freetype = ft2font.__freetype_version__
    except ImportError:
        freetype = None
    components: dict[str, object] = {
        "python": ".".join(platform.python_version_tuple()[:2]),
        "implementation": platform.python_implementation(),
        "system": platform.system(),
        "machine": platform.machine(),
        "zlib": zlib.ZLIB_RUNTIME_VERSION,
        "freetype": freetype,
        "packages": packages,
    }
    fingerprint = hashlib.sha256(json.dumps(components, sort_keys=True).encode()).hexdigest()
    return {"fingerprint": fingerprint, **components}


def environment_differences(
    reference: Mapping[str, object], current: Mapping[str, object]
) -> list[str]:
    """Name each component of the environment that differs from the reference's."""
    differences = []
    for key in sorted(set(reference) | set(current)):
        if key == "fingerprint":
            continue
        if key == "packages":
            ours = current.get(key) or {}
            theirs = reference.get(key) or {}
            assert isinstance(ours, Mapping) and isinstance(theirs, Mapping)
            for name in sorted(set(ours) | set(theirs)):
                if ours.get(name) != theirs.get(name):
                    differences.append(f"{name} {theirs.get(name)} -> {ours.get(name)}")
        elif reference.get(key) != current.get(key):
            differences.append(f"{key} {reference.get(key)} -> {current.get(key)}")
    return differences
