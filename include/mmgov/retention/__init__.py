"""Data retention: policies, effective policy, preview, approval, batched soft delete, legal holds,
restore and physical removal. Importing the package registers its DDL (``sql/retention.sql``, and ``sql/custody.sql`` for the
attestations every run writes).
"""

from mmgov.state import register_ddl

register_ddl("retention.sql")
# Every run, restore and dry run writes an attestation (mmgov.custody.attestation).
register_ddl("custody.sql")

ACTOR_RETENTION = "mmgov-retention"  # props.deleteBy of posts retention soft-deletes
