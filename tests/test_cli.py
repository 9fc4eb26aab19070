"""The ``mmgov`` dispatcher reaches each area's command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mmgov.cli import COMMANDS, main


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_unknown_command_names_the_allowed_ones(capsys):
    assert main(["purge-everything"]) == 2
    err = capsys.readouterr().err
    assert "allowed: " in err
    assert all(name in err for name in COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_answers_help(name):
    result = subprocess.run(
        [sys.executable, "-m", "mmgov.cli", name, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout.lower()
