"""Loading and validating playbook YAML, with line numbers in every error."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from playbooks.schema import Playbook

LIBRARY = Path(__file__).parent / "library"


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    line: int | None
    loc: tuple[str | int, ...]
    msg: str

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.loc) or "playbook"
        return f"line {self.line}: {where}: {self.msg}" if self.line else f"{where}: {self.msg}"


def _line_of(node: yaml.Node | None, loc: tuple[str | int, ...]) -> int | None:
    """Follow ``loc`` through the YAML nodes to the line it points at (1-based)."""
    current = node
    line = current.start_mark.line + 1 if current is not None else None
    for part in loc:
        if isinstance(current, yaml.MappingNode):
            match = next((v for k, v in current.value if getattr(k, "value", None) == part), None)
            if match is None:
                break
            current = match
        elif (
            isinstance(current, yaml.SequenceNode)
            and isinstance(part, int)
            and part < len(current.value)
        ):
            current = current.value[part]
        else:
            break
        line = current.start_mark.line + 1
    return line


def validate_yaml(
    text: str, name: str = "playbook"
) -> tuple[Playbook | None, list[ValidationIssue]]:
    """The playbook of ``text``, or the problems with it, each with its line."""
    try:
        node = yaml.compose(text)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [
            ValidationIssue(mark.line + 1 if mark else None, (), f"not valid YAML: {exc}")
        ]
    if not isinstance(data, dict):
        return None, [
            ValidationIssue(
                1, (), f"{name}: a playbook is a mapping (key, title, trigger, tasks...)"
            )
        ]
    try:
        return Playbook.model_validate(data), []
    except ValidationError as exc:
        issues = []
        for error in exc.errors():
            loc = tuple(
                p
                for p in error["loc"]
                if not isinstance(p, str) or not p.startswith(("literal[", "function-"))
            )
            issues.append(ValidationIssue(_line_of(node, loc), loc, error["msg"]))
        return None, issues


@lru_cache(maxsize=4)
def load_library(path: Path | None = None) -> tuple[Playbook, ...]:
    """Every playbook of a folder (the shipped library by default); one broken file is an error."""
    playbooks = []
    for file in sorted((path or LIBRARY).glob("*.yaml")):
        playbook, issues = validate_yaml(file.read_text(encoding="utf-8"), file.name)
        if playbook is None:
            raise ValueError(f"{file.name}: " + "; ".join(str(i) for i in issues))
        playbooks.append(playbook)
    keys = [p.key for p in playbooks]
    if len(keys) != len(set(keys)):
        raise ValueError(f"playbook keys must be unique: {keys}")
    return tuple(playbooks)
