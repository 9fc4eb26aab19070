"""Compare a database's catalog with Mattermost's schema facts."""

from __future__ import annotations

import copy
from typing import Any


def comparable(schema: dict[str, Any]) -> dict[str, Any]:
    """Enums, tables and materialized views, constraints and indexes in name order (their order in
    the catalog is not a fact)."""
    out = copy.deepcopy({k: schema[k] for k in ("enums", "tables", "materialized_views")})
    for relation in [*out["tables"].values(), *out["materialized_views"].values()]:
        for key in ("constraints", "indexes"):
            if key in relation:
                relation[key] = sorted(relation[key], key=lambda item: item["name"])
    return out
