"""Data retention: policies, effective policy, preview, approval, batched soft delete, legal holds,
restore and physical removal. Importing the package registers its DDL (``sql/retention.sql``, and
``sql/custody.sql``: purge, restore and the report write signed attestations, ``mmgov.custody``).
"""

from mmgov.state import register_ddl

register_ddl("retention.sql")
register_ddl("custody.sql")

ACTOR_RETENTION = "mmgov-retention"  # props.deleteBy of posts retention soft-deletes
