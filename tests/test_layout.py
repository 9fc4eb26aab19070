"""Tests mirror the code: ``include/mmgov/X/Y.py`` is tested in ``tests/X/test_Y.py`` and
``plugins/mmgov_airflow/X/Y.py`` in ``tests/plugins/X/test_Y.py``.

A module without its test module must be listed below with the reason (where its behaviour is tested),
so a reader knows where to look and a new module cannot arrive untested. The lists only shrink: an
entry whose module is gone or now has its test module fails, so it is removed when that happens.
"""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
# Source package root -> the tests directory that mirrors it.
MIRRORS = {
    PROJECT / "include" / "mmgov": PROJECT / "tests",
    PROJECT / "plugins" / "mmgov_airflow": PROJECT / "tests" / "plugins",
}

# Modules (relative to include/ or plugins/) without a test module of their name, and why.
EXCEPTIONS = {
    # package markers and entry points: no behaviour of their own
    "mmgov/__init__.py": "package marker",
    "mmgov/__main__.py": "entry point of `python -m mmgov`: tests/test_cli.py runs the CLI it calls",
    "mmgov/bulk_export/__init__.py": "package marker",
    "mmgov/compliance/__init__.py": "package marker (its docstring maps the pipeline's modules)",
    "mmgov/bulk_export/__main__.py": "entry point: tests/bulk_export/test_demo_export.py runs it",
    "mmgov/custody/__init__.py": "package marker",
    "mmgov/retention/__init__.py": "registers retention.sql: every test in tests/retention/ uses it",
    "mmgov/retention/__main__.py": "entry point of the retention CLI: tests/retention/test_cli.py",
    "mmgov_airflow/__init__.py": "package marker",
    "mmgov_airflow/api/__init__.py": "package marker",
    "mmgov_airflow/console/__init__.py": "package marker",
    # small modules of declarations, exercised by the tests of their users
    "mmgov/bulk_export/errors.py": "error ids: tests/bulk_export/test_archive.py, test_person_scope.py",
    "mmgov/retention/errors.py": "error ids: tests/retention/test_purge.py, test_retention_policy.py",
}


def mirror_of(module: Path) -> Path:
    """The test module named after ``module`` (a path under one of ``MIRRORS``)."""
    for source, tests in MIRRORS.items():
        if module.is_relative_to(source):
            relative = module.relative_to(source)
            return tests / relative.parent / f"test_{relative.name}"
    raise ValueError(f"{module} is not under {sorted(map(str, MIRRORS))}")


def key(module: Path) -> str:
    """``mmgov/x/y.py`` or ``mmgov_airflow/x/y.py``: the module's path below include/ or plugins/."""
    source = next(source for source in MIRRORS if module.is_relative_to(source))
    return module.relative_to(source.parent).as_posix()


def untested() -> set[str]:
    """Every library module whose test module does not exist."""
    return {
        key(module) for source in MIRRORS for module in source.rglob("*.py") if not mirror_of(module).exists()
    }


class TestMirror:
    def test_mirror_of(self):
        assert (
            mirror_of(PROJECT / "include/mmgov/retention/purge.py")
            == PROJECT / "tests/retention/test_purge.py"
        )
        assert mirror_of(PROJECT / "include/mmgov/audit.py") == PROJECT / "tests/test_audit.py"
        assert (
            mirror_of(PROJECT / "plugins/mmgov_airflow/api/auth.py")
            == PROJECT / "tests/plugins/api/test_auth.py"
        )
        with pytest.raises(ValueError, match="is not under"):
            mirror_of(PROJECT / "dags/retention_purge.py")

    def test_key(self):
        assert key(PROJECT / "include/mmgov/retention/purge.py") == "mmgov/retention/purge.py"
        assert key(PROJECT / "plugins/mmgov_airflow/sensors.py") == "mmgov_airflow/sensors.py"

    def test_every_module_has_its_test_module_or_a_reason(self):
        missing = untested() - set(EXCEPTIONS)
        assert not missing, (
            f"no test module (tests/.../test_<module>.py) and no entry in EXCEPTIONS: {sorted(missing)}"
        )

    def test_no_stale_exception(self):
        """An exception whose module is gone or now has its test module is removed from the lists."""
        stale = set(EXCEPTIONS) - untested()
        assert not stale, f"remove from EXCEPTIONS: {sorted(stale)}"

    def test_every_exception_gives_its_reason(self):
        assert all(reason.strip() for reason in EXCEPTIONS.values())
