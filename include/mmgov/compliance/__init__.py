"""Compliance export (Mattermost's message export): exact incremental windows, formats, delivery.

Pipeline: :mod:`export_window` (which posts) -> :mod:`extract` (one snapshot of the window, streamed in batches)
-> :mod:`post_classifier` + :mod:`membership` (the data model of :mod:`model`) -> a format
(:mod:`formats`; ``csv_format`` ...) writing one zip per batch via :mod:`packaging` into staging
(:mod:`staging`) -> :mod:`reconcile` -> :mod:`publishing` through :mod:`delivery`. The run's request is
:mod:`export_request`; :mod:`tasks` holds the task bodies of the ``compliance_export`` DAG. How to add a format: ``FORMATS.md`` in this folder.
"""
