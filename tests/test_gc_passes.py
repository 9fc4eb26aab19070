"""The exports' garbage-collector setting: raised thresholds (compliance) or off (GDPR), then as before."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from mmgov.gc_passes import RARE_THRESHOLDS, fewer_gc_passes


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    before, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.set_threshold(*before)
    (gc.enable if enabled else gc.disable)()


class TestFewerGcPasses:
    def test_thresholds_are_raised_then_restored(self):
        gc.set_threshold(700, 10, 10)
        with fewer_gc_passes():
            assert gc.get_threshold() == RARE_THRESHOLDS == (200_000, 50, 100)
            assert gc.isenabled()
        assert gc.get_threshold() == (700, 10, 10)

    def test_higher_thresholds_are_kept(self):
        gc.set_threshold(500_000, 20, 1_000)
        with fewer_gc_passes():
            assert gc.get_threshold() == (500_000, 50, 1_000)
        assert gc.get_threshold() == (500_000, 20, 1_000)

    def test_disable_turns_the_collector_off_then_on_again(self):
        gc.enable()
        with fewer_gc_passes(disable=True):
            assert not gc.isenabled()
        assert gc.isenabled()

    def test_disable_leaves_a_collector_that_was_off_off(self):
        gc.disable()
        with fewer_gc_passes(disable=True):
            assert not gc.isenabled()
        assert not gc.isenabled()

    @pytest.mark.parametrize("disable", [False, True], ids=["raised", "off"])
    def test_restored_when_the_block_raises(self, disable):
        gc.enable()
        gc.set_threshold(700, 10, 10)
        with pytest.raises(RuntimeError), fewer_gc_passes(disable=disable):
            raise RuntimeError("export failed")
        assert gc.isenabled()
        assert gc.get_threshold() == (700, 10, 10)
