"""`make airflow`: the real Airflow UI on this machine, with mmgov's DAGs and a demo workspace.

Runs ``airflow standalone`` (api-server, scheduler, dag-processor, triggerer; LocalExecutor) with
its metadata in database ``airflow`` on the embedded PostgreSQL (or ``MMGOV_DATABASE_URL``'s
server), a synthetic Mattermost workspace in database ``mattermost_local`` (files under
``.mmgov/airflow-local/filestore``), and ``airflow_settings.yaml`` loaded with the local
``mattermost_db`` connection and ``mattermost_settings`` variable in place of the file's examples.
Login: SimpleAuthManager user ``admin``, password from ``.mmgov/airflow-local/passwords.json``
(``admin`` unless you change it there).

    python scripts/airflow_local.py [--port 8080] [--posts 20000] [--reseed] [--fresh]
    python scripts/airflow_local.py stop       # what `make stop-airflow` runs
    python scripts/airflow_local.py settings   # reload airflow_settings.yaml (`make airflow-settings`)

The browser test (tests/ops/test_airflow_ui.py) starts Airflow through :class:`LocalAirflow` too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from mmgov.airflow_settings import DEFAULT_FILE as SETTINGS_FILE
from mmgov.airflow_settings import load_into_airflow, read
from mmgov.db import airflow_conn_json, with_database
from mmgov_dev.devenv import PROJECT_ROOT, AirflowEnv
from mmgov_dev.devenv import demo_settings as local_settings
from mmgov_dev.embedded_postgres import create_database, drop_database, server_uri

STATE = PROJECT_ROOT / ".mmgov" / "airflow-local"
PID_FILE = STATE / "standalone.pid"
METADATA_DB = "airflow"
WORKSPACE_DB = "mattermost_local"
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
DEFAULT_PASSWORD = "admin"  # noqa: S105 - the documented login of the local, loopback-only Airflow


def sqlalchemy_url(dsn: str) -> str:
    """A libpq URI as the SQLAlchemy URL Airflow's metadata database takes (psycopg 3 driver)."""
    scheme, rest = dsn.split("://", 1)
    if scheme not in ("postgresql", "postgres"):
        raise ValueError(f"metadata database must be PostgreSQL, got scheme {scheme!r}")
    return f"postgresql+psycopg://{rest}"


def ensure_database(server: str, name: str, *, replace: bool = False) -> str:
    """Create database ``name`` on ``server`` unless it exists (or drop it first); return its URI."""
    if replace:
        drop_database(server, name)
    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return with_database(server, name) if exists else create_database(server, name)


def describe_server(uri: str) -> str:
    """``host:port`` or the unix-socket folder of a server URI, without credentials."""
    parts = urlsplit(uri)
    socket_dir = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("host")
    return socket_dir or f"{parts.hostname}:{parts.port or 5432}"


def metadata_migrated(dsn: str) -> bool:
    """Whether Airflow's metadata database at ``dsn`` has been migrated once."""
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT to_regclass('public.alembic_version') IS NOT NULL").fetchone()[0]


def workspace_ready(dsn: str) -> bool:
    """Whether ``dsn`` already holds a Mattermost workspace with posts."""
    try:
        with psycopg.connect(dsn) as conn:
            if conn.execute("SELECT to_regclass('public.posts')").fetchone()[0] is None:
                return False
            return conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM posts)")).fetchone()[0]
    except psycopg.OperationalError:
        return False


def seed_workspace(server: str, file_root: Path, *, posts: int, reseed: bool = False) -> str:
    """The local Mattermost database, generated (like ``make demo``'s) unless it already exists."""
    dsn = with_database(server, WORKSPACE_DB)
    if not reseed and file_root.exists() and workspace_ready(dsn):
        print(f"[airflow-local] reusing workspace {WORKSPACE_DB} (--reseed to regenerate)", flush=True)
        return dsn
    import shutil

    from mmgov.state import ensure_mmgov_schema
    from mmgov_dev.synth import SynthConfig, generate

    if file_root.exists():
        shutil.rmtree(file_root)
    file_root.mkdir(parents=True)
    dsn = create_database(server, WORKSPACE_DB, replace=True)
    end_ms = int(datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)
    t0 = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as conn:
        generate(conn, SynthConfig(posts=posts, seed=42, days=90, end_ms=end_ms, file_root=file_root))
        ensure_mmgov_schema(conn)
    print(f"[airflow-local] seeded {posts:,} posts into {WORKSPACE_DB} in {time.monotonic() - t0:.0f}s")
    return dsn


def _http_json(
    url: str, *, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None, timeout: float
) -> Any:
    """Send a request to ``url`` (http:// only: the local Airflow) and decode the JSON answer."""
    if not url.startswith("http://"):
        raise ValueError(f"only http:// URLs are used here, got {url!r}")
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **(headers or {})}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - checked
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - scheme checked above
        return json.load(resp)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@dataclass
class LocalAirflow:
    """One local Airflow (standalone) on a PostgreSQL metadata database, with mmgov configured."""

    home: Path
    metadata_url: str
    mattermost_dsn: str
    settings: dict[str, Any]
    host: str = "127.0.0.1"
    port: int = 8080
    username: str = "admin"
    password: str = DEFAULT_PASSWORD
    dags_folder: Path = PROJECT_ROOT / "dags"
    worker_log_port: int = 8793
    trigger_log_port: int = 8794
    settings_file: Path = SETTINGS_FILE
    dags_paused_at_creation: bool = True
    skip_connections: tuple[str, ...] = ("mmgov_alert_smtp", "mmgov_alert_webhook", "mmgov_signing")
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def passwords_file(self) -> Path:
        return self.home / "passwords.json"

    def _secrets(self) -> dict[str, str]:
        """Keys every component must share (API secret, JWT secret, Fernet key), kept in the home."""
        path = self.home / "secrets.json"
        if path.exists():
            return json.loads(path.read_text())
        from cryptography.fernet import Fernet

        keys = {
            "secret_key": secrets.token_urlsafe(32),
            "jwt_secret": secrets.token_urlsafe(32),
            "fernet_key": Fernet.generate_key().decode(),
        }
        self.home.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(keys))
        path.chmod(0o600)
        return keys

    def environ(self) -> dict[str, str]:
        """The environment of every Airflow command of this instance."""
        base = AirflowEnv(
            home=self.home,
            mattermost_dsn=self.mattermost_dsn,
            settings=self.settings,
            metadata_url=self.metadata_url,
        ).environ()
        # The connection and the variable go into the metadata DB instead (load_settings), so the
        # UI's Connections and Variables pages show, and can edit, what the tasks use.
        base.pop("AIRFLOW_CONN_MATTERMOST_DB", None)
        base.pop("AIRFLOW_VAR_MATTERMOST_SETTINGS", None)
        keys = self._secrets()
        bin_dir = str(Path(sys.executable).parent)
        base.update(
            {
                "PATH": os.pathsep.join([bin_dir, base.get("PATH", "")]),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.username}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": str(self.dags_paused_at_creation),
                "AIRFLOW__CORE__FERNET_KEY": keys["fernet_key"],
                "AIRFLOW__API__HOST": self.host,
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__API__SECRET_KEY": keys["secret_key"],
                "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
                "AIRFLOW__API__INSTANCE_NAME": "mmgov (local)",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.worker_log_port),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.trigger_log_port),
            }
        )
        base.update(self.extra_env)
        return base

    def write_passwords(self, *, keep_existing: bool = True) -> None:
        """The SimpleAuthManager passwords file: a known password instead of a generated one."""
        self.home.mkdir(parents=True, exist_ok=True)
        if keep_existing and self.passwords_file.exists():
            current = json.loads(self.passwords_file.read_text() or "{}")
            if self.username in current:
                self.password = current[self.username]
                return
        self.passwords_file.write_text(json.dumps({self.username: self.password}) + "\n")
        self.passwords_file.chmod(0o600)

    def airflow(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run one ``airflow`` CLI command of this instance; raise with its output on failure."""
        result = subprocess.run(
            [str(Path(sys.executable).with_name("airflow")), *args],
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            raise RuntimeError(f"airflow {' '.join(args)} exited {result.returncode}:\n{tail}")
        return result

    def migrate(self) -> None:
        """Create or upgrade the metadata database."""
        self.airflow("db", "migrate")

    def load_settings(self) -> None:
        """Import ``airflow_settings.yaml`` with this instance's Mattermost DB and settings variable.

        The alert and signing connections are left out (the signing key is a placeholder): the alerts point at docker-compose's Mailpit and
        at no real Mattermost, so alerts are skipped (add them in Admin > Connections to try them).
        """
        doc = read(self.settings_file)
        for conn_id in self.skip_connections:
            doc.connections.pop(conn_id, None)
        described = doc.connections.get("mattermost_db", {}).get("description")
        doc.set_connection("mattermost_db", airflow_conn_json(self.mattermost_dsn))
        if described:
            doc.connections["mattermost_db"]["description"] = described
        description = doc.variables.get("mattermost_settings", {}).get("description")
        doc.set_variable("mattermost_settings", self.settings, description)
        load_into_airflow(doc, env=self.environ())

    def start(self, *, log_file: Path | None = None) -> subprocess.Popen[bytes]:
        """Start ``airflow standalone`` in its own process group (output to ``log_file`` or ours)."""
        if port_in_use(self.host, self.port):
            raise RuntimeError(
                f"port {self.port} on {self.host} is in use (another Airflow? `make stop-airflow`, "
                "or pick another with --port)"
            )
        out = open(log_file, "ab") if log_file else None  # noqa: SIM115 - handed to the child
        try:
            return subprocess.Popen(
                [str(Path(sys.executable).with_name("airflow")), "standalone"],
                env=self.environ(),
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
                start_new_session=True,
            )
        finally:
            if out:
                out.close()

    def health(self) -> dict[str, Any] | None:
        """``/api/v2/monitor/health``, or None while the API server does not answer."""
        try:
            return _http_json(f"{self.url}/api/v2/monitor/health", timeout=5)
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def wait_ready(self, proc: subprocess.Popen[bytes], *, timeout: float = 300) -> None:
        """Wait until the API server answers and every component reports healthy."""
        deadline = time.monotonic() + timeout
        parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"airflow standalone exited with {proc.returncode} before it was ready")
            last = self.health()
            if last and all((last.get(p) or {}).get("status") == "healthy" for p in parts):
                return
            time.sleep(1)
        raise TimeoutError(f"Airflow at {self.url} not healthy after {timeout:.0f}s: {last}")

    def token(self) -> str:
        """A JWT for the REST API, from SimpleAuthManager's login endpoint."""
        body = {"username": self.username, "password": self.password}
        return _http_json(f"{self.url}/auth/token", method="POST", body=body, timeout=15)["access_token"]

    def api(self, method: str, path: str, body: Any = None, *, token: str | None = None) -> Any:
        """Call the public REST API (``/api/v2`` + ``path``) and return the decoded JSON."""
        auth = {"Authorization": f"Bearer {token or self.token()}"}
        return _http_json(f"{self.url}/api/v2{path}", method=method, body=body, headers=auth, timeout=30)

    def wait_for_dags(self, dag_ids: list[str], *, timeout: float = 180) -> None:
        """Wait until the dag-processor has parsed ``dag_ids`` (raising with import errors if not)."""
        deadline = time.monotonic() + timeout
        token = self.token()
        missing = list(dag_ids)
        while time.monotonic() < deadline:
            listed = self.api("GET", "/dags?limit=100", token=token)
            missing = sorted(set(dag_ids) - {d["dag_id"] for d in listed["dags"]})
            if not missing:
                return
            time.sleep(2)
        errors = self.api("GET", "/importErrors", token=token)
        raise TimeoutError(f"DAGs {missing} not parsed after {timeout:.0f}s; import errors: {errors}")


def stop_process_group(pid: int, *, timeout: float = 30) -> bool:
    """SIGTERM the process group ``pid`` leads, SIGKILL what is left after ``timeout``."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return True


def stop_local(pid_file: Path = PID_FILE) -> int:
    """Stop the Airflow that ``make airflow`` started (by the process group id it recorded)."""
    if not pid_file.exists():
        print("[airflow-local] not running")
        return 0
    pid = int(pid_file.read_text().strip())
    stopped = stop_process_group(pid)
    pid_file.unlink(missing_ok=True)
    print(f"[airflow-local] {'stopped' if stopped else 'was not running'} (process group {pid})")
    return 0


def _instance(args: argparse.Namespace, server: str, dsn: str, *, fresh: bool = False) -> LocalAirflow:
    """The LocalAirflow of ``make airflow`` (state under .mmgov/airflow-local)."""
    metadata = ensure_database(server, METADATA_DB, replace=fresh)
    return LocalAirflow(
        home=STATE / "home",
        metadata_url=sqlalchemy_url(metadata),
        mattermost_dsn=dsn,
        settings=local_settings(STATE / "filestore"),
        port=args.port,
        settings_file=args.settings_file,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "command",
        nargs="?",
        choices=("start", "stop", "settings"),
        default="start",
        help="start (default); stop; settings: reload the settings file into the local Airflow",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("MMGOV_AIRFLOW_PORT", "8080")))
    parser.add_argument("--posts", type=int, default=20_000, help="posts in a newly seeded workspace")
    parser.add_argument("--reseed", action="store_true", help="regenerate the Mattermost workspace")
    parser.add_argument("--fresh", action="store_true", help="drop Airflow's metadata database first")
    parser.add_argument("--settings-file", type=Path, default=SETTINGS_FILE)
    args = parser.parse_args(argv)
    if args.command == "stop":
        return stop_local()
    if args.command == "settings":
        server = server_uri()
        local = _instance(args, server, with_database(server, WORKSPACE_DB))
        if not metadata_migrated(with_database(server, METADATA_DB)):
            local.migrate()
        local.load_settings()
        print(
            f"[airflow-local] loaded {args.settings_file} into {METADATA_DB} (mattermost_db -> {WORKSPACE_DB})"
        )
        return 0
    if PID_FILE.exists():
        pid = int(PID_FILE.read_text().strip())
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            PID_FILE.unlink()
        else:
            print(f"[airflow-local] already running (process group {pid}); `make stop-airflow` first")
            return 1

    t0 = time.monotonic()
    server = server_uri()
    file_root = STATE / "filestore"
    dsn = seed_workspace(server, file_root, posts=args.posts, reseed=args.reseed)
    local = _instance(args, server, dsn, fresh=args.fresh)
    local.write_passwords()
    print(f"[airflow-local] migrating metadata database {METADATA_DB} on {describe_server(server)}")
    local.migrate()
    print(f"[airflow-local] loading {args.settings_file.name} (mattermost_db -> {WORKSPACE_DB})", flush=True)
    local.load_settings()
    proc = local.start()
    PID_FILE.write_text(str(proc.pid))

    def forward(signum: int, _frame: Any) -> None:
        stop_process_group(proc.pid)
        PID_FILE.unlink(missing_ok=True)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, forward)
    try:
        local.wait_ready(proc)
        banner = [
            "",
            "=" * 72,
            f"  mmgov Airflow UI : {local.url}   (ready in {time.monotonic() - t0:.0f}s)",
            f"  login            : {local.username} / {local.password}   ({local.passwords_file})",
            f"  DAGs             : {local.dags_folder}   (paused at creation: unpause to schedule)",
            f"  Mattermost DB    : {WORKSPACE_DB}; files in {file_root}",
            f"  exports          : {file_root / 'export'}",
            "  stop             : Ctrl-C here, or `make stop-airflow` / `make stop`",
            "=" * 72,
            "",
        ]
        print("\n".join(banner), flush=True)
        code = proc.wait()
        if code < 0:  # ended by a signal: `make stop-airflow` / `make stop`
            print(f"[airflow-local] stopped ({signal.Signals(-code).name})", flush=True)
            return 0
        return code
    except KeyboardInterrupt:
        print("\n[airflow-local] stopping", flush=True)
        return 0
    finally:
        stop_process_group(proc.pid)
        PID_FILE.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
