"""Fewer cyclic garbage-collector passes while an export streams.

An export allocates several objects per row (records, lines, buffers) and they form no reference
cycles: reference counting frees each as soon as it is written. The cyclic collector still runs
after every burst of allocations and walks the whole heap (Airflow's imports, the exports' caches)
each time: at 1M posts that was a third of the compliance export, and 1 s per 1,000,000 posts of
the GDPR export. Both exports therefore quiet it for their streaming part, each as benchmarked:

- the compliance export raises the thresholds: collections still happen, rarely;
- the GDPR export turns the collector off.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# The raised thresholds: allocations before a generation-0 pass, then passes before a 1 and a 2.
RARE_THRESHOLDS = (200_000, 50, 100)


@contextmanager
def fewer_gc_passes(*, disable: bool = False) -> Iterator[None]:
    """Raise the collector's thresholds to at least :data:`RARE_THRESHOLDS` (``disable``: turn it
    off) for the block; the previous thresholds (or enabled state) come back afterwards."""
    if disable:
        enabled = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            if enabled:
                gc.enable()
        return
    before = gc.get_threshold()
    gc.set_threshold(*(max(now, rare) for now, rare in zip(before, RARE_THRESHOLDS, strict=True)))
    try:
        yield
    finally:
        gc.set_threshold(*before)
