"""The hash of the merchant console's sources, written beside the built bundle as source-hash.txt.

    python console/source_hash.py            print it
    python console/source_hash.py --write    write backend/core/static/console/source-hash.txt

The sources are what the bundle is built from: the console's package files, lockfile, build and
code generation configuration, index.html and src/ (component tests excluded), and the core API
schema the GraphQL types are generated from. tests/console/test_console_bundle.py checks the
committed hash against the sources, and (with npm) that building them gives the committed bundle.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSOLE = ROOT / "console"
BUNDLE = ROOT / "backend" / "core" / "static" / "console"
HASH_FILE = BUNDLE / "source-hash.txt"
TOP_FILES = ["package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "codegen.ts", "index.html"]


def source_files() -> list[Path]:
    files = [CONSOLE / name for name in TOP_FILES]
    files += [
        path
        for path in (CONSOLE / "src").rglob("*")
        if path.is_file() and ".test." not in path.name and "test" not in path.relative_to(CONSOLE / "src").parts[:1]
    ]
    files.append(ROOT / "backend" / "graphql" / "schema.graphql")
    return sorted(files, key=lambda path: path.relative_to(ROOT).as_posix())


def source_hash() -> str:
    digest = hashlib.sha256()
    for path in source_files():
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
        # Line endings as committed on any checkout (a Windows checkout may turn \n into \r\n).
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


if __name__ == "__main__":
    value = source_hash()
    if "--write" in sys.argv[1:]:
        HASH_FILE.write_text(value + "\n")
    print(value)
