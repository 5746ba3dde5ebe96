"""Check that a built wheel holds exactly the files of ``src/gencor`` (bytecode caches aside): a
weight, a static file of the page or a bundled photo left out of the package data fails here, and
so does a stale file from an old ``build/`` folder.

Run from the repository root: ``python scripts/check_wheel.py dist/gencor-*.whl`` (``make
wheel-check`` does, before it installs the wheel in a fresh environment).
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

PACKAGE = Path("src/gencor")
#: Folders whose files are data, not modules: each must be in the wheel with at least one file.
DATA_DIRS = ("data", "models/weights", "serve/static")


def package_files(root: Path) -> set[str]:
    """The files of the package under ``root``, as the wheel names them."""
    return {f"gencor/{p.relative_to(root).as_posix()}" for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python scripts/check_wheel.py WHEEL")
    with zipfile.ZipFile(sys.argv[1]) as wheel:
        shipped = {name for name in wheel.namelist() if name.startswith("gencor/")}
    expected = package_files(PACKAGE)
    missing, extra = sorted(expected - shipped), sorted(shipped - expected)
    empty = [d for d in DATA_DIRS if not any(name.startswith(f"gencor/{d}/") for name in shipped)]
    if missing or extra or empty:
        raise SystemExit(f"check_wheel: missing from the wheel: {missing}; not in src/gencor: {extra}; no files in: {empty}")
    print(f"check_wheel: {len(shipped)} files, as in src/gencor ({', '.join(DATA_DIRS)} included)")


if __name__ == "__main__":
    main()
