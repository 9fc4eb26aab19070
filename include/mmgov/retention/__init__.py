"""Data retention: policies, effective policy, preview, approval, batched soft delete, legal holds,
restore and physical removal. Importing the package registers its DDL (``sql/retention.sql``).
"""

from mmgov.state import register_ddl

register_ddl("retention.sql")

ACTOR_RETENTION = "mmgov-retention"  # props.deleteBy of posts retention soft-deletes
