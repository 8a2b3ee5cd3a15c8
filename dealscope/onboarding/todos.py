"""Places in a mapping file that still need a person's decision.

`dealscope init` writes `TODO(you)` wherever it cannot choose for the user (in a comment that
explains the choice, and as the value itself, so value validation fails there too). `check` and
`run` refuse a mapping file while any is left.
"""

from __future__ import annotations

from pathlib import Path

MARKER = "TODO(you)"


def unresolved_todos(mapping_file: Path) -> list[tuple[int, str]]:
    """(1-based line, the line's text trimmed) of every line of the file that still holds TODO(you)."""
    lines = Path(mapping_file).read_text(encoding="utf-8").splitlines()
    return [(number, line.strip()) for number, line in enumerate(lines, start=1) if MARKER in line]


def todo_error(mapping_file: Path) -> str | None:
    """A message naming each unresolved place, or None when there is none."""
    found = unresolved_todos(mapping_file)
    if not found:
        return None
    name = Path(mapping_file).name
    listed = "\n".join(f"  {name} line {line}: {text}" for line, text in found)
    return (f"{len(found)} unresolved TODO(you) place{'s' if len(found) > 1 else ''}: decide each, "
            f"replace the TODO(you) value and delete the marker (docs/mapping.md explains each choice):\n{listed}")
