"""The run note that names a manifest and its signature."""

from __future__ import annotations

from mmgov.custody.manifest import note_text


def test_note_text():
    ref = {
        "manifest": "/x/manifest.json",
        "manifest_sha256": "ab" * 32,
        "signed": True,
        "signing_key_id": "cd" * 32,
    }
    assert note_text(ref) == (
        f"Manifest: `/x/manifest.json` (SHA-256 `{'ab' * 32}`), signed (Ed25519, key `{'cd' * 8}…`)."
    )
    assert "**unsigned** (no `mmgov_signing` connection)" in note_text({**ref, "signed": False})
    assert note_text(None) == "Manifest: none written."
