"""A real ``airflow api-server`` on loopback with SimpleAuthManager users, and real JWTs from ``/auth/token``.

Serves the project's plugins (mmgov's REST API at ``/mmgov``) and Airflow's own API (HITL responses),
sharing the metadata database of the :class:`~mmgov_dev.devenv.AirflowEnv` it is started with.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from mmgov_dev.devenv import AIRFLOW_BIN, AirflowEnv
from tests.support.smtp import free_port

# One user of every SimpleAuthManager role, and "dpo": an OP whom settings may name (GdprExportAdmins, ...).
USERS = {
    "admin": ("ADMIN", "admin-pw"),
    "op": ("OP", "op-pw"),
    "user": ("USER", "user-pw"),
    "viewer": ("VIEWER", "viewer-pw"),
    "dpo": ("OP", "dpo-pw"),
}
JWT_SECRET = "mmgov-test-jwt-secret-" + "0123456789abcdef" * 4


def auth_environ(env: AirflowEnv) -> dict[str, str]:
    """Settings every process of the environment needs so they agree on users and tokens."""
    passwords = env.home / "simple_auth_passwords.json"
    passwords.write_text(json.dumps({u: pw for u, (_, pw) in USERS.items()}))
    return {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{role}" for u, (role, _) in USERS.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": JWT_SECRET,
    }


@dataclass
class ApiServer:
    base_url: str
    process: subprocess.Popen
    log_path: Any
    tokens: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        user: str | None = None,
        token: str | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        """``(status, JSON body)`` of a request, authenticated as ``user`` (or with ``token``)."""
        headers = {"Content-Type": "application/json"}
        if user is not None:
            token = self.token(user)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.base_url + path, method=method, data=data, headers=headers)  # noqa: S310 - loopback http only
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def token(self, user: str) -> str:
        """A real JWT for ``user`` from SimpleAuthManager's ``POST /auth/token``."""
        if user not in self.tokens:
            status, body = self.request("POST", "/auth/token", {"username": user, "password": USERS[user][1]})
            assert status == 201, (status, body)
            self.tokens[user] = body["access_token"]
        return self.tokens[user]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_api_server(env: AirflowEnv, *, timeout: float = 180) -> ApiServer:
    """Start ``airflow api-server`` for ``env`` on a free port; wait until it answers."""
    port = free_port()
    environ = {**env.environ(), **auth_environ(env), "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}"}
    log_path = env.home / f"api-server-{port}.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [str(AIRFLOW_BIN), "api-server", "--port", str(port), "--host", "127.0.0.1"],
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = ApiServer(base_url=f"http://127.0.0.1:{port}", process=proc, log_path=log_path)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"api-server exited {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            urllib.request.urlopen(server.base_url + "/api/v2/monitor/health", timeout=2)  # noqa: S310
            return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"api-server did not start:\n{log_path.read_text()[-4000:]}") from None
            time.sleep(0.5)
