"""A throw-away PostgreSQL server on 127.0.0.1 for the distributed-search tests and .ci/run.

``PgServer().start()`` runs initdb into a fresh temporary folder (as the ``postgres`` user when called as
root: PostgreSQL refuses to run as root), starts the server with password authentication on a free port
and returns its URL; ``restart(down=0.3)`` stops it and starts it again; ``stop()`` removes everything.

From a shell (.ci/run)::

    python -m tests.pgserver start FOLDER   # prints the URL; the server lives until `stop FOLDER`
    python -m tests.pgserver stop FOLDER
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

USER, PASSWORD = "convsmith", "s3cret-pw"
DIR_ENV = "CONVSMITH_TEST_PG_DIR"  # set by .ci/run: tests use (and may restart) that server


def binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    hits = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return hits[-1] if hits else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder or tempfile.mkdtemp(prefix="convsmith-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    @classmethod
    def attach(cls, folder: str | Path) -> PgServer:
        """The server another process started in ``folder``."""
        server = cls(folder)
        server.port = int((server.folder / "port").read_text())
        return server

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        if self.as_root:
            cmd = ("runuser", "-u", "postgres", "--", *cmd)
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def start(self) -> str:
        initdb, pg_ctl = binary("initdb"), binary("pg_ctl")
        if not (initdb and pg_ctl):
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.folder.mkdir(parents=True, exist_ok=True)
        pwfile = self.folder / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.as_root:
            pg = pwd.getpwnam("postgres")
            for p in (self.folder, pwfile):
                os.chown(p, pg.pw_uid, pg.pw_gid)
        self._run(initdb, "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}", "-A", "scram-sha-256",
                  "--no-sync", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as fh:
            fh.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = "
                     f"'{self.folder}'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                     "max_connections = 200\n")
        self._pg_ctl("start")
        (self.folder / "port").write_text(str(self.port))
        return self.url

    def _pg_ctl(self, action: str) -> None:
        args = [binary("pg_ctl"), "-D", str(self.data), "-w", "-t", "60"]
        if action == "start":
            args += ["-l", str(self.folder / "server.log"), "start"]
        else:
            args += ["-m", "fast", "stop"]
        done = self._run(*args, check=False)
        if done.returncode and action == "start":
            log = (self.folder / "server.log").read_text() if (self.folder / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()} {log[-2000:]}")

    def restart(self, down: float = 0.3) -> None:
        self._pg_ctl("stop")
        time.sleep(down)
        self._pg_ctl("start")

    def stop(self) -> None:
        if self.data.exists():
            self._pg_ctl("stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    action, folder = argv[0], Path(argv[1])
    if action == "start":
        print(PgServer(folder).start())
        return 0
    (PgServer.attach(folder) if (folder / "port").exists() else PgServer(folder)).stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
