"""GDPR bulk export: the whole workspace or one person's data in Mattermost's bulk-import format.

``export_job`` runs it (start -> run -> finish; ``tasks`` holds the DAG's task bodies),
``export_check`` validates an export (``import_validator`` line by line against the importer's rules;
``python -m mmgov.bulk_export validate <import.jsonl|export.zip|folder>``).
"""
