"""The Governance console: server-rendered pages of the plugin's FastAPI app under ``/mmgov/console``.

Reached from Airflow's navigation ("Governance", an external view of the plugin). Same rules as the
REST API: an Airflow admin only (others get a refusal page), every change audited with the admin.
"""
