# The image of every Airflow service in docker-compose.yaml: Airflow 3.3.2 on Python 3.11 with
# mmgov's pinned requirements (constraints.txt, from `make lock`). The project code itself
# (dags/, include/, plugins/) is mounted by docker-compose.yaml, not baked in; to bake it in for a
# registry image, add: COPY --chown=airflow:0 dags/ include/ plugins/ airflow_settings.yaml /opt/airflow/...
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11
FROM ${AIRFLOW_IMAGE}

# The Mattermost file store of the try-out stack (a named volume takes this owner on first use).
USER root
RUN mkdir -p /mattermost/data && chown -R airflow:0 /mattermost && chmod -R g+rwX /mattermost
USER airflow

COPY --chown=airflow:0 requirements.txt constraints.txt /opt/mmgov/
# apache-airflow is pinned in requirements.txt to the image's own version, so pip keeps it; the
# image's celery/redis providers (CeleryExecutor) are left as the image ships them.
RUN pip install --no-cache-dir -r /opt/mmgov/requirements.txt -c /opt/mmgov/constraints.txt

ENV PYTHONPATH=/opt/airflow/include:/opt/airflow/plugins
