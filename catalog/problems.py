"""Problems found in catalog content, each pinned to a file and line.

Why a module of its own: the checker, the site builder and the CLI all speak about the same
problems, and authors need one stable vocabulary (the ``kind`` codes) to grep and to silence.
Errors make ``ferry catalog check`` exit non-zero; warnings are shown but do not fail it.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Severity", "Kind", "Problem", "count_by_kind", "has_errors"]


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Kind(enum.StrEnum):
    """What is wrong; stable codes shown in brackets after each message."""

    MALFORMED_YAML = "malformed-yaml"
    NOT_TEXT = "not-text"
    PAGE_TOO_LARGE = "page-too-large"
    FRONTMATTER_TOO_LARGE = "frontmatter-too-large"
    YAML_ALIAS = "yaml-alias"
    YAML_TOO_DEEP = "yaml-too-deep"
    DUPLICATE_KEY = "duplicate-key"
    TOO_MANY_NAMES = "too-many-names"
    TOO_MANY_FIELDS = "too-many-fields"
    NO_FRONTMATTER = "no-frontmatter"
    UNCLOSED_FRONTMATTER = "unclosed-frontmatter"
    MISSING_FIELD = "missing-field"
    EMPTY_FIELD = "empty-field"
    BAD_FIELD_TYPE = "bad-field-type"
    UNKNOWN_FIELD = "unknown-field"
    EMPTY_ENTRY = "empty-entry"
    UNKNOWN_DATATYPE = "unknown-datatype"
    DATATYPE_SPELLING = "datatype-spelling"
    UNKNOWN_SERVICE = "unknown-service"
    SERVICE_SPELLING = "service-spelling"
    PLACEHOLDER_TEXT = "placeholder-text"
    PLACEHOLDER_LINK = "placeholder-link"
    EMPTY_LINK = "empty-link"
    MISLEADING_LINK = "misleading-link"
    SCHEMELESS_LINK = "schemeless-link"
    DUPLICATE_TITLE = "duplicate-title"
    SERVICES_FILE = "services-file"
    CONNECTOR_SERVICE = "connector-service"


@dataclass(frozen=True, order=True)
class Problem:
    """One finding. ``line`` is 1-based in ``file`` (0 when the whole file is concerned)."""

    file: str
    line: int
    severity: Severity
    kind: Kind
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.message} [{self.kind}]"

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "severity": str(self.severity),
            "kind": str(self.kind),
            "message": self.message,
        }


def display_path(path: Path, root: Path | None = None) -> str:
    """Path as shown to authors: relative to ``root`` (or the cwd) when possible.

    A file name that is not UTF-8 (POSIX allows any bytes) is shown with U+FFFD for the bad
    bytes, so it can be printed and written into the site instead of failing to encode.
    """
    shown = str(path)
    for base in (root, Path.cwd()):
        if base is None:
            continue
        try:
            shown = str(path.resolve().relative_to(base.resolve()))
            break
        except ValueError:
            continue
    return shown.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def count_by_kind(problems: Iterable[Problem]) -> Counter[tuple[str, str]]:
    """Counts keyed by (severity, kind), for summaries and reports."""
    return Counter((str(p.severity), str(p.kind)) for p in problems)


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.severity is Severity.ERROR for p in problems)
