"""The staged run's manifest (``mmgov.compliance.staging``): what each batch wrote, kept across tasks as JSON."""

from __future__ import annotations

import json

from mmgov.compliance.delivery import StagedFile
from mmgov.compliance.extract import WindowCounts
from mmgov.compliance.formats import BatchResult
from mmgov.compliance.reconcile import BatchRecord
from mmgov.compliance.staging import Manifest


def test_manifest_round_trip():
    rec = BatchRecord(
        1,
        "batch001-1-2.zip",
        1,
        2,
        3,
        1,
        BatchResult("batch001-1-2.zip", posts=3, files_copied=1, warnings=["w"]),
        StagedFile("b", 10, "ab"),
    )
    manifest = Manifest(WindowCounts(posts=3, files=1), [rec])
    again = Manifest.from_dict(json.loads(json.dumps(manifest.as_dict())))
    assert again == manifest
