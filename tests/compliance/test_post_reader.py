"""The window's post rows: authors and channels looked up by id."""

from __future__ import annotations


def test_lookups_share_one_str_per_author_and_channel_id():
    """Rows keep their values, but equal author and channel ids become one object, across batches
    too (the driver makes a new ``str`` per value: two ids per row in memory otherwise)."""
    from mmgov.compliance.post_reader import Lookups

    def fresh(text: str) -> str:
        return "".join(list(text))  # an equal but distinct str, as read from the database

    def batch(n: int) -> list[tuple]:
        return [
            (f"p{i}", i, i, False, False, fresh("u" * 26) if i % 3 else None, fresh("c" * 26), b"x", 1)
            for i in range(n)
        ]

    lookups = Lookups()
    rows = batch(30)
    assert len({id(r[6]) for r in rows}) == 30
    shared = lookups.shared_ids(rows)
    assert shared == rows
    assert len({id(r[6]) for r in shared}) == 1
    assert len({id(r[5]) for r in shared if r[5] is not None}) == 1
    later = lookups.shared_ids(batch(5))
    assert later[1][5] is shared[1][5]
    assert later[0][6] is shared[0][6]
    assert lookups.shared_ids([]) == []
