"""The result of validating a bulk export: findings (line, severity, code, message) and counts per line type."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

from mmgov.bulk_export.jsonl_writer import LINE_ORDER

_RANK = {t: i for i, t in enumerate(LINE_ORDER)}


@dataclass(frozen=True)
class Finding:
    """One problem: line number (1-based), ``error`` or ``warning``, a stable code, a message."""

    line: int
    severity: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.severity} {self.code}: {self.message}"


@dataclass
class ValidationReport:
    """The result of a validation: counts per line type and the findings (capped per severity)."""

    lines: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    error_count: int = 0
    warning_count: int = 0

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return self.error_count == 0

    def codes(self, severity: str | None = None) -> Counter[str]:
        """How often each finding code occurred (among the findings kept)."""
        found = self.errors + self.warnings
        return Counter(f.code for f in found if severity is None or f.severity == severity)

    def summary(self) -> str:
        kinds = ", ".join(
            f"{t}={n}" for t, n in sorted(self.counts.items(), key=lambda kv: _RANK.get(kv[0], 99))
        )
        verdict = "valid" if self.ok else "INVALID"
        return f"{verdict}: {self.lines} lines ({kinds}); {self.error_count} errors, {self.warning_count} warnings"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "lines": self.lines,
            "counts": dict(self.counts),
            "error_count": self.error_count,
            "warning_count": self.warning_count,
            "errors": [f.__dict__ for f in self.errors],
            "warnings": [f.__dict__ for f in self.warnings],
        }


def print_report(report: ValidationReport, out: IO[str], *, limit: int = 50) -> None:
    """A human-readable report: the summary line, then the first findings."""
    out.write(report.summary() + "\n")
    for finding in (report.errors + report.warnings)[:limit]:
        out.write(f"  {finding}\n")
    hidden = report.error_count + report.warning_count - min(limit, len(report.errors) + len(report.warnings))
    if hidden > 0:
        out.write(f"  ... and {hidden} more\n")
