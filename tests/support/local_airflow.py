"""``scripts/airflow_local.py`` (the code behind ``make airflow``) as a module for tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

PROJECT = Path(__file__).resolve().parents[2]


def airflow_local() -> ModuleType:
    """The ``airflow_local`` script module (loaded once)."""
    if "airflow_local" in sys.modules:
        return sys.modules["airflow_local"]
    spec = importlib.util.spec_from_file_location("airflow_local", PROJECT / "scripts" / "airflow_local.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["airflow_local"] = module
    spec.loader.exec_module(module)
    return module
