"""Team lines: deleted teams kept with their deletion time when archived channels are asked for."""

from __future__ import annotations

from tests.bulk_export.workspace import T0, by_key


def test_teams_and_channels_include_deleted_ones_with_their_deletion_time(export):
    teams = by_key(export.of_type("team"), "name")
    assert set(teams) == {"alpha", "oldteam"}
    assert teams["oldteam"]["delete_at"] == T0 - 5000
    assert "delete_at" not in teams["alpha"]
    channels = {(c["team"], c["name"]): c for c in export.of_type("channel")}
    assert set(channels) == {
        ("alpha", "town-square"),
        ("alpha", "archived-proj"),
        ("alpha", "secret-room"),
        ("oldteam", "legacy"),
    }
    assert channels[("alpha", "archived-proj")]["deleted_at"] == T0 - 2000
    assert channels[("alpha", "archived-proj")]["type"] == "P"
