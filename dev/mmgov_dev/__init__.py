"""Development tools of mmgov, never shipped to the workers: the embedded PostgreSQL server of tests,
demo and benchmarks (:mod:`~mmgov_dev.embedded_postgres`), the Airflow runner of ``airflow dags test``
(:mod:`~mmgov_dev.devenv`) and the synthetic Mattermost workspace (:mod:`~mmgov_dev.synth`).

``make install`` installs it next to ``mmgov`` (pyproject.toml); the Docker image's ``include/`` does
not hold it.
"""
