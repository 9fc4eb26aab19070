"""GDPR bulk export: the whole workspace or one person's data in Mattermost's bulk-import format.

``export_job`` runs it (start -> run -> finish), ``import_validator`` checks an export line by line
against the importer's rules (``python -m mmgov.bulk_export validate <import.jsonl|export.zip|folder>``).
"""
