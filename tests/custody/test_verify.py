"""``mmgov verify``'s usage errors (verifying exports: tests/custody/test_exports.py, test_gdpr.py)."""

from __future__ import annotations


def test_verify_usage_errors(tmp_path, capsys):
    from mmgov.custody.verify import main as verify_main

    bad = tmp_path / "bad.pem"
    bad.write_text("x")
    assert verify_main([str(tmp_path), "--public-key", str(bad)]) == 2
    assert verify_main([str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().out.strip() == f"{tmp_path / 'nope'}: no such file or folder"
    (tmp_path / "manifest.json").write_text("{not json")
    assert verify_main([str(tmp_path)]) == 1
    assert capsys.readouterr().out.startswith("manifest.json: not a readable manifest")
