#!/usr/bin/env python3
"""Keeps the cores small: no source file over 600 lines and no function over 60 lines in
protocol/, client-wasm/src/core and relay/src (tests excepted). Prints every violation and
exits 1 if there is one. A function spans from its `fn` line to the closing brace at the same
indentation; `#[cfg(test)]` modules in their own files (tests.rs, tests/, properties.rs) are
skipped."""

import pathlib
import re
import sys

ROOTS = ["protocol/src", "client-wasm/src/core", "relay/src"]
MAX_FILE_LINES = 600
MAX_FN_LINES = 60
FN = re.compile(r"^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")


def is_test_file(path: pathlib.Path) -> bool:
    parts = path.parts
    return "tests" in parts or path.name in ("tests.rs", "properties.rs", "invariants.rs")


def functions(lines):
    """(name, first line number, length) of every function with a body."""
    for i, line in enumerate(lines):
        match = FN.match(line)
        if not match or line.rstrip().endswith(";"):
            continue
        indent = match.group(1)
        for j in range(i, len(lines)):
            if lines[j].rstrip() == indent + "}" or (j == i and line.rstrip().endswith("}")):
                yield match.group(7), i + 1, j - i + 1
                break


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    problems = []
    for base in ROOTS:
        for path in sorted((root / base).rglob("*.rs")):
            rel = path.relative_to(root)
            if is_test_file(rel):
                continue
            lines = path.read_text().splitlines()
            # A trailing `#[cfg(test)] mod tests { ... }` is test code too.
            cut = next((n for n, l in enumerate(lines) if l.startswith("#[cfg(test)]") and n + 1 < len(lines) and lines[n + 1].startswith("mod tests {")), len(lines))
            lines = lines[:cut]
            if len(lines) > MAX_FILE_LINES:
                problems.append(f"{rel}: {len(lines)} lines (max {MAX_FILE_LINES})")
            for name, start, length in functions(lines):
                if length > MAX_FN_LINES:
                    problems.append(f"{rel}:{start}: fn {name} is {length} lines (max {MAX_FN_LINES})")
    for problem in problems:
        print(problem)
    if not problems:
        print(f"code size: every file <= {MAX_FILE_LINES} lines, every function <= {MAX_FN_LINES} lines in {', '.join(ROOTS)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
