"""Airflow-facing parts of mmgov: notifiers, task defaults and alerts, the REST API plugin."""
