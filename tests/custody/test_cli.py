"""``mmgov custody`` commands: keygen and key-id, rollup, attest, expire."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mmgov.custody.cli import main as custody_main
from mmgov.custody.signing import Signer, load_public_keys


def _json_out(capsys) -> object:
    return json.loads(capsys.readouterr().out)


def test_keygen_and_key_id(tmp_path, capsys):
    assert custody_main(["keygen", "--out", str(tmp_path / "k")]) == 0
    out = _json_out(capsys)
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    signer = Signer.from_pem((tmp_path / "k.pem").read_text())
    assert out["key_id"] == signer.key_id
    assert custody_main(["key-id", str(tmp_path / "k.pub.pem")]) == 0
    assert _json_out(capsys) == [signer.key_id]
    # One file holding two public keys (after a rotation) gives both.
    other = tmp_path / "other"
    custody_main(["keygen", "--out", str(other)])
    second = _json_out(capsys)["key_id"]
    both = tmp_path / "both.pem"
    both.write_bytes((tmp_path / "k.pub.pem").read_bytes() + Path(f"{other}.pub.pem").read_bytes())
    assert set(load_public_keys([both])) == {signer.key_id, second}


def test_rollup_attest_and_expire_commands(mm_dsn, tmp_path, signing_key, capsys):
    settings = json.dumps({"FileSettings": {"Directory": str(tmp_path / "fs")}})
    base = ["--dsn", mm_dsn, "--settings", settings]
    assert custody_main([*base, "rollup", "2026-01"]) == 0
    out = _json_out(capsys)
    assert out["runs"] == 0
    assert out["signed"] is True
    assert Path(out["manifest"]) == tmp_path / "fs/export/retention-attestations/2026/01/rollup-2026-01.json"
    assert custody_main([*base, "expire"]) == 0
    assert _json_out(capsys)["status"].startswith("disabled")
    assert custody_main([*base, "attest", "nosuchrun0000000000000000"]) == 1
    assert "nosuchrun" in capsys.readouterr().err
    assert custody_main([*base, "rollup", "January"]) == 1


def test_python_dash_m_mmgov_custody_help():
    out = subprocess.run(
        [sys.executable, "-m", "mmgov", "custody", "--help"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0
    assert "rollup" in out.stdout
