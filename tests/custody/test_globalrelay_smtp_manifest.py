"""Global Relay by SMTP: the run folder's manifest lists the emails the server accepted (ledger)."""

from __future__ import annotations

import hashlib
import json

import pyrage

from mmgov.custody.verify import main as verify_main
from tests.compliance.gr_support import parse_eml
from tests.compliance.test_globalrelay_delivery import CHANNELS, _mail_run


def test_manifest_lists_every_email_with_message_id_hash_and_reply(
    mm_conn, file_store, tmp_path, gr_env, workspace, signing_key, capsys
):
    # ExportRecipients does not apply to SMTP: the vendor must read what it receives.
    recipient = str(pyrage.x25519.Identity.generate().to_public())
    out = _mail_run(mm_conn, file_store, tmp_path, gr_env, mmgov={"ExportRecipients": [recipient]})
    manifest_path = out.folder / "manifest.json"
    assert out.summary["custody"]["manifest"] == str(manifest_path)
    doc = json.loads(manifest_path.read_text())
    assert doc["files"] == []
    assert doc["encryption"] is None
    emails = doc["delivery"]["emails"]
    assert doc["delivery"]["kind"] == "smtp"
    assert len(emails) == CHANNELS
    received = {hashlib.sha256(m.data).hexdigest(): parse_eml(m.data) for m in gr_env.messages}
    for email in emails:
        msg = received[email["sha256"]]  # what the server got, byte for byte
        assert email["message_id"] == msg["Message-ID"]
        assert email["smtp_reply"].startswith("250")
        assert email["delivery_key"] == f"{out.folder.name}/{doc['batches'][0]['zip_name']}"
    assert doc["batches"][0]["file"] is None  # mailed, not kept
    assert sorted(p.name for p in out.folder.iterdir()) == ["manifest.json", "manifest.json.sig"]
    assert verify_main([str(out.folder), "--public-key", str(signing_key.public_key)]) == 0
