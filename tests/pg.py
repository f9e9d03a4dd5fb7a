"""A PostgreSQL server for tests and benchmarks: $XIANGAN_TEST_PG_URL, or a private throwaway cluster.

The throwaway cluster lives in a temporary folder (data, log and unix socket), listens on a free loopback
port, trusts local connections and is stopped and deleted at the end. As root it runs as the ``postgres``
user (PostgreSQL refuses to run as root). Each test gets its own database on it (``pg_url``), so tests
stay independent; creating one from a migrated template takes a few milliseconds.

Needs the PostgreSQL server binaries (Debian: ``postgresql``, which brings ``postgresql-<version>``);
without them the fixtures skip with the reason.
"""

from __future__ import annotations

import atexit
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import make_url

ENV_URL = "XIANGAN_TEST_PG_URL"
DRIVER = "postgresql+psycopg"
SERVER_USER = "postgres"  # the OS user that runs the cluster when we are root, and its superuser name
START_ATTEMPTS = 3
# Test speed over crash safety: a throwaway cluster never needs to survive a power cut.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class PgUnavailable(RuntimeError):
    """No PostgreSQL server can be had here (no binaries, or the cluster would not start)."""


def find_bin_dir() -> Path | None:
    """The newest installed PostgreSQL server binaries (initdb and pg_ctl), or None."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PgCluster:
    """A private cluster in ``root``: ``start()`` it, ``stop()`` deletes it."""

    bin_dir: Path
    durable: bool = False
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="xiangan-pg-")))
    port: int = 0
    running: bool = False

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def admin_url(self) -> str:
        return f"{DRIVER}://{SERVER_USER}@127.0.0.1:{self.port}/postgres"

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bin_dir / tool), *args]
        if os.geteuid() == 0:  # PostgreSQL will not run as root
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        return command

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self._command(tool, *args), capture_output=True, text=True, timeout=120, check=False)

    def _watch(self) -> None:
        """Stop and delete the cluster when this process dies without cleaning up (killed by a timeout,
        SIGKILL): the server runs detached and would otherwise outlive it. A tiny shell loop in its own
        session, so that killing the test's process group does not take it along."""
        stop = shlex.join(self._command("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w"))
        script = (f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; "
                  f"{stop} >/dev/null 2>&1; rm -rf {shlex.quote(str(self.root))}")
        subprocess.Popen(["sh", "-c", script], start_new_session=True, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _check(self, done: subprocess.CompletedProcess[str], what: str) -> None:
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PgUnavailable(f"{what} failed ({done.returncode}): {done.stderr.strip()[-2000:]}\n{log}")

    def _configure(self) -> None:
        settings = {"listen_addresses": "'127.0.0.1'", "port": str(self.port),
                    "unix_socket_directories": f"'{self.root}'", "max_connections": "200"}
        if not self.durable:
            settings.update(FAST_SETTINGS)
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("".join(f"\n{key} = {value}" for key, value in settings.items()) + "\n")

    def start(self) -> PgCluster:
        if os.geteuid() == 0:
            shutil.chown(self.root, SERVER_USER)
        self._check(self._run("initdb", "-D", str(self.data), "-U", SERVER_USER, "-A", "trust", "-E", "UTF8",
                              "--locale=C.UTF-8", "--no-sync"), "initdb")
        for _attempt in range(START_ATTEMPTS):  # another process may take the free port before we do
            self.port = _free_port()
            self._configure()
            done = self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log))
            if done.returncode == 0:
                self.running = True
                atexit.register(self.stop)
                self._watch()
                return self
        self.stop()
        self._check(done, "pg_ctl start")
        return self

    def stop(self) -> None:
        """Stop the server at once (nothing in it is worth a clean shutdown) and delete its folder."""
        if self.running:
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
            self.running = False
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def postgres_server(durable: bool = False) -> Iterator[str]:
    """The admin URL of a PostgreSQL server: $XIANGAN_TEST_PG_URL, else a throwaway cluster for the
    duration. Raises PgUnavailable with the reason when there is neither."""
    if os.environ.get(ENV_URL):
        yield os.environ[ENV_URL]
        return
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PgUnavailable("PostgreSQL server binaries not found (install the Debian package `postgresql`, "
                            f"or set {ENV_URL} to a server where databases may be created)")
    cluster = PgCluster(bin_dir, durable=durable).start()
    try:
        yield cluster.admin_url
    finally:
        cluster.stop()


def run_admin(admin_url: str, *statements: str) -> None:
    """Run statements on the server outside a transaction (CREATE/DROP/ALTER DATABASE need that)."""
    import psycopg

    url = make_url(admin_url)
    with psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                         dbname=url.database or "postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def create_database(admin_url: str, template: str | None = None, name: str | None = None) -> str:
    """A new, empty database (or a copy of ``template``) on the server; its SQLAlchemy URL."""
    name = name or f"xiangan_{uuid.uuid4().hex[:16]}"
    copy = f" TEMPLATE {template}" if template else ""
    run_admin(admin_url, f"CREATE DATABASE {name}{copy}")
    return make_url(admin_url).set(drivername=DRIVER, database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, url: str) -> None:
    """Drop a database made by create_database, closing whatever connections a test left open."""
    run_admin(admin_url, f"DROP DATABASE IF EXISTS {make_url(url).database} WITH (FORCE)")


def migrated_template(admin_url: str) -> str:
    """A database at the head schema, to copy per test (migrating from scratch takes about a second)."""
    from app.storage.database import Database
    from app.sync.county import _upgrade_url

    url = create_database(admin_url)
    db = Database.from_url(url)
    try:
        _upgrade_url(db.engine)
    finally:
        db.dispose()
    return str(make_url(url).database)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Admin URL of the session's PostgreSQL server; the tests that need one skip, saying why, without."""
    try:
        with postgres_server() as admin_url:
            yield admin_url
    except PgUnavailable as exc:
        print(f"PostgreSQL tests skipped: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> Iterator[str]:
    """Name of a migrated database on the session's server (copied by ``pg_url``)."""
    name = migrated_template(pg_server)
    yield name
    drop_database(pg_server, make_url(pg_server).set(database=name).render_as_string(hide_password=False))


@pytest.fixture
def pg_url(pg_server: str, pg_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, already at the head schema; dropped afterwards."""
    url = create_database(pg_server, template=pg_template)
    yield url
    drop_database(pg_server, url)


@pytest.fixture
def pg_empty_url(pg_server: str) -> Iterator[str]:
    """A fresh, EMPTY PostgreSQL database for one test (the migrations run on it from scratch)."""
    url = create_database(pg_server)
    yield url
    drop_database(pg_server, url)
