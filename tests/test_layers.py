"""The domain library does not load Airflow: only the DAG/plugin edge (and the modules listed here) do.

A worker that writes an audit row, a CLI or the REST API must not pay for (or depend on) Airflow's
import; Airflow's assets and exceptions live in ``plugins/mmgov_airflow``.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import mmgov

# Modules that must import Airflow at module level, and why.
AIRFLOW_BOUND = {
    # subclasses the smtp provider's SmtpHook, which reads the globalrelay_smtp Airflow connection
    "mmgov.compliance.globalrelay_smtp": "the smtp provider's hook",
}

_PROBE = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    if "airflow" in sys.modules:
        print(name)
        break
"""


def _library_modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(mmgov.__path__, "mmgov.")]
    return [n for n in names if not n.endswith(".__main__") and n not in AIRFLOW_BOUND]  # __main__ runs a CLI


def test_no_library_module_imports_airflow():
    modules = _library_modules()
    assert "mmgov.audit" in modules
    assert "mmgov.compliance.globalrelay_delivery" in modules
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *modules], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.strip() == "", f"{out.stdout.strip()} loads airflow at import"


def test_the_airflow_bound_modules_really_are():
    """The exemptions stay honest: a module that no longer needs Airflow leaves the list."""
    for name in AIRFLOW_BOUND:
        out = subprocess.run(
            [sys.executable, "-c", f"import sys, {name}; print('airflow' in sys.modules)"],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        assert out.stdout.strip() == "True", name
