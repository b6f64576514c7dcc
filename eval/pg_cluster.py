"""A throwaway PostgreSQL server for tests and benchmarks: its own cluster in a temp folder,
listening on a free loopback port, removed afterwards.

PostgreSQL refuses to run as root, so under root the cluster belongs to the ``postgres`` user
(``runuser``). The binaries are looked up on PATH, then in Debian's /usr/lib/postgresql/*/bin.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

INSTALL_HINT = "install PostgreSQL (Debian: apt-get install -y postgresql; .ci/run does it)"


class PostgresUnavailable(RuntimeError):
    pass


def find_binaries() -> Path:
    """The folder holding initdb and pg_ctl."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    raise PostgresUnavailable(
        f"PostgreSQL's initdb is not on PATH nor in /usr/lib/postgresql: {INSTALL_HINT}"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TempPostgres:
    """``with TempPostgres() as pg: url = pg.create_database("t1")``.

    ``durable=False`` (tests) turns fsync off; benchmarks keep PostgreSQL's defaults.
    """

    def __init__(self, durable: bool = True, max_connections: int = 300):
        self.bin = find_binaries()
        self.durable = durable
        self.max_connections = max_connections
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="zhiyin-pg-"))
        self.data = self.root / "data"
        self.user: str | None = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable(f"running as root needs a 'postgres' user: {INSTALL_HINT}") from exc
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.user = "postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"{args[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
            )
        return done

    def start(self) -> TempPostgres:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-k {self.root}",
            f"-c max_connections={self.max_connections}",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            " ".join(options),
            "start",
        )
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        return create_database(self.url(), name)

    def drop_database(self, name: str) -> None:
        drop_database(self.url(), name)

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> TempPostgres:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


def _admin_connection(server_url: str):
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database or "postgres",
        autocommit=True,
    )


def create_database(server_url: str, name: str) -> str:
    """CREATE DATABASE ``name`` on the server of ``server_url``; its URL (psycopg driver)."""
    from sqlalchemy.engine import make_url

    with _admin_connection(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(drivername="postgresql+psycopg", database=name).render_as_string(False)


def drop_database(server_url: str, name: str) -> None:
    with _admin_connection(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
