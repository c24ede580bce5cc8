#!/usr/bin/env python3
"""Checks the documentation: README.md, CHANGELOG.md and docs/*.md.

- README.md stays a front page: under 250 lines.
- Every relative link resolves: the file (or folder) exists in the repository, and a `#anchor`
  names a heading of the target Markdown file (GitHub's slugs: lower case, punctuation dropped,
  each space a hyphen, `-1`, `-2`, ... for repeats).
- Nothing points outside the repository: no absolute link (`/x`, `file:`), no `../` that climbs
  above the root, in links or anywhere in the text, and no /work or /root path.
- http(s) and mailto links are counted but never fetched.

Prints each problem and exits 1, else prints "documentation checks passed (N links)".
Python 3.11 standard library only: python3 deploy/check_docs.py [--root DIR]
"""
from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from pathlib import Path
from urllib.parse import unquote

README_MAX_LINES = 250

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
# [text](target) and ![alt](target), target optionally in <...> and followed by a title.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(\S+)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
HTML_ANCHOR = re.compile(r"<a\s+[^>]*(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)
OUTSIDE_PATH = re.compile(r"(?<![\w.])/(?:work|root)(?:/|\b)")
PARENT_PATH = re.compile(r"(?<![\w./-])((?:\.\./)+[^\s`'\"()\[\]<>,;]*)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def documents(root: Path) -> list[Path]:
    files = [root / "README.md", root / "CHANGELOG.md"]
    files += sorted((root / "docs").glob("*.md"))
    return files


def split_code(lines: list[str]) -> list[tuple[str, bool]]:
    """Each line with whether it sits in a fenced code block."""
    result, fence = [], None
    for line in lines:
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)[0] * 3
            result.append((line, True))
        elif fence is not None:
            result.append((line, True))
            if line.strip().startswith(fence):
                fence = None
        else:
            result.append((line, False))
    return result


def slug(text: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: their text
    text = CODE_SPAN.sub(lambda m: m.group(2), text)        # code spans: their content
    text = re.sub(r"<[^>]+>", "", text)                      # inline HTML
    text = text.replace("*", "")
    text = text.strip().lower()
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in " -_" or category[0] in "LN" or category == "Mn":
            kept.append(char)
    return "".join(kept).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result: set[str] = set()
    for line, in_code in split_code(path.read_text(encoding="utf-8").splitlines()):
        if in_code:
            continue
        for name in HTML_ANCHOR.findall(line):
            result.add(name)
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def links(path: Path) -> list[tuple[int, str]]:
    found = []
    for number, (line, in_code) in enumerate(split_code(path.read_text(encoding="utf-8").splitlines()), 1):
        if in_code:
            continue
        definition = REFERENCE_DEFINITION.match(line)
        if definition:
            found.append((number, definition.group(1).strip("<>")))
            continue
        text = CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)
        for match in INLINE_LINK.finditer(text):
            found.append((number, match.group(1).strip("<>")))
    return found


def inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def check(root: Path) -> tuple[list[str], int]:
    problems: list[str] = []
    total = 0
    anchor_cache: dict[Path, set[str]] = {}

    readme = root / "README.md"
    if readme.exists():
        count = len(readme.read_text(encoding="utf-8").splitlines())
        if count >= README_MAX_LINES:
            problems.append(f"README.md: {count} lines (a front page stays under {README_MAX_LINES})")

    for document in documents(root):
        name = document.relative_to(root).as_posix()
        if not document.exists():
            problems.append(f"{name}: missing")
            continue
        text = document.read_text(encoding="utf-8")

        # Paths outside the repository, links or not, code included.
        for number, line in enumerate(text.splitlines(), 1):
            for match in OUTSIDE_PATH.finditer(line):
                problems.append(f"{name}:{number}: a path outside the repository ({match.group(0)}...)")
            for match in PARENT_PATH.finditer(line):
                target = match.group(1)
                if not inside(root, document.parent / target):
                    problems.append(f"{name}:{number}: '{target}' climbs out of the repository")

        for number, target in links(document):
            total += 1
            where = f"{name}:{number}"
            if target.startswith(("http://", "https://", "mailto:")):
                continue  # never fetched
            if SCHEME.match(target):
                problems.append(f"{where}: '{target}' is not a relative link")
                continue
            if target.startswith("/"):
                problems.append(f"{where}: '{target}' is absolute; use a path relative to {name}")
                continue
            file_part, _, fragment = target.partition("#")
            file_part = unquote(file_part.split("?", 1)[0])
            resolved = document if not file_part else (document.parent / file_part)
            if not inside(root, resolved):
                problems.append(f"{where}: '{target}' points outside the repository")
                continue
            if not resolved.exists():
                problems.append(f"{where}: '{target}': no such file")
                continue
            if fragment:
                if resolved.is_dir() or resolved.suffix.lower() not in (".md", ".markdown"):
                    problems.append(f"{where}: '{target}': an anchor into a file that is not Markdown")
                    continue
                key = resolved.resolve()
                if key not in anchor_cache:
                    anchor_cache[key] = anchors(resolved)
                if unquote(fragment) not in anchor_cache[key]:
                    shown = resolved.resolve().relative_to(root.resolve()).as_posix()
                    problems.append(f"{where}: '{target}': no heading '#{fragment}' in {shown}")
    return problems, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    problems, total = check(args.root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"documentation checks failed: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"documentation checks passed ({total} links)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
