import random

from mmgov.ids import is_id, new_id


def test_ids_are_mattermost_shaped_and_unique():
    ids = {new_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(is_id(i) for i in ids)


def test_seeded_ids_are_deterministic():
    a = [new_id(random.Random(3)) for _ in range(3)]
    b = [new_id(random.Random(3)) for _ in range(3)]
    assert a == b


def test_is_id_rejects():
    assert not is_id("A" * 26)
    assert not is_id("a" * 25)
    assert not is_id(None)
