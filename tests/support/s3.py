"""A real S3 endpoint on loopback: moto in server mode (HTTP), reachable by subprocesses too."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import boto3
from moto.server import ThreadedMotoServer

ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"
REGION = "us-east-1"


@dataclass
class S3Endpoint:
    """Where the loopback S3 listens, and a client for it."""

    url: str

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def new_bucket(self) -> str:
        name = f"mmgov-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def airflow_conn_json(self) -> str:
        """An Airflow ``aws`` connection for this endpoint (as ``AIRFLOW_CONN_MATTERMOST_S3``)."""
        return json.dumps(
            {
                "conn_type": "aws",
                "login": ACCESS_KEY,
                "password": SECRET_KEY,
                "extra": {"endpoint_url": self.url, "region_name": REGION},
            }
        )


def start_s3() -> tuple[ThreadedMotoServer, S3Endpoint]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, S3Endpoint(url=f"http://{host}:{port}")
