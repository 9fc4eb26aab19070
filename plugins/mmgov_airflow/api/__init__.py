"""mmgov's REST API: one FastAPI app (mounted by the Airflow plugin at ``/mmgov``), a router per area."""
