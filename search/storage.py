"""Where a study lives: the default journal file in the study folder, or any Optuna storage URL.

The default needs no server and takes many writer processes without "database is locked": Optuna's
JournalStorage appends to one file under a lock file (search.journal keeps a cut last line from
corrupting it). ``optuna-dashboard studies/NAME/journal.log`` opens it unchanged, as it opens the
``sqlite:///`` and ``postgresql://`` URLs also accepted here.

Database storages (RDBStorage) get what a shared server needs: ``pool_pre_ping`` (a connection the
server dropped is replaced, not used), connect and statement timeouts (a hung host is reported within
``CONNECT_TIMEOUT`` s instead of minutes), TCP keep-alives, Optuna's own heartbeat with a retry callback
when asked, and -- once a first call has succeeded -- every storage call retried with exponential
backoff (0.25 s doubling to 8 s) for up to ``wait`` seconds when the connection fails, so a database
restart is waited out; after that, ``StorageUnavailable`` says so in one line. Passwords never appear in
what this module says (``mask``).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna

from search.config import SearchConfig, SearchError

# The search drives trials with ask/tell (one per worker process), so Optuna's note that its heartbeat is
# meant for Study.optimize does not apply; the heartbeat API itself is marked experimental.
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed", category=UserWarning)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

JOURNAL_NAME = "journal.log"
IDENTITY_KEY = "convsmith"  # study user attribute: what the study searches (see SearchConfig.identity)
_RDB = ("sqlite:", "postgresql", "postgres:", "mysql")
STORAGE_HELP = ("a journal file (journal:PATH or a path ending in .log / .journal), sqlite:///FILE.db, "
                "postgresql://USER:PASSWORD@HOST/DB (pip install 'convsmith[postgres]'), mysql://..., "
                "grpc://HOST:PORT (an Optuna gRPC storage proxy; pip install 'convsmith[grpc]'), "
                "or redis://HOST:PORT (needs the redis package)")
CONNECT_TIMEOUT = 5        # seconds to establish a database connection (libpq connect_timeout)
STATEMENT_TIMEOUT = 60     # seconds one SQL statement may take on PostgreSQL
SCHEMA_TRIES = 5          # opens of a new database, when other processes create its tables at the same instant
STORAGE_WAIT = 60.0        # default seconds a running search waits for a database that went away
# user:PASSWORD@ up to the last @ before the host (people do put a raw @ in passwords)
_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>\S*?)@(?=[^@\s/]*(?:[/?#\s]|$))",
                       re.IGNORECASE)


class StorageUnavailable(SearchError):
    """The storage stopped answering for longer than the search waits."""


class StorageRefused(SearchError):
    """Opening a database storage failed on a lost or refused connection (it may come back)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


def mask(text: str, url: str | None = None) -> str:
    """``text`` with every URL password (and the literal password of ``url``) replaced by ***."""
    if url:
        m = _PASSWORD.search(url)
        if m and m.group("pw"):  # as a whole word: a short password must not garble "expired" into "e***pired"
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(m.group('pw'))}(?![A-Za-z0-9])", "***", text)
    return _PASSWORD.sub(lambda m: f"{m.group('head')}***@" if m.group("pw") else m.group(0), text)


def split_password(url: str) -> tuple[str, str]:
    """(the URL without its password, the password or ''): the app keeps the password in a masked field."""
    m = _PASSWORD.search(url)
    if not m or not m.group("pw"):
        return url, ""
    return url[:m.start()] + m.group("head")[:-1] + url[m.end("pw"):], m.group("pw")


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` for its user (the URL as given when there is no password or no user)."""
    if not password or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    user, at, host = rest.partition("@")
    if not at or ":" in user:
        return url
    return f"{scheme}://{user}:{password}@{host}"


def postgres_url(url: str) -> str:
    """A postgresql:// URL with an installed driver named: psycopg 3 (the ``postgres`` extra), else psycopg2."""
    scheme, rest = url.split("://", 1)
    if "+" in scheme:
        driver = scheme.split("+", 1)[1]
        module = {"psycopg": "psycopg", "psycopg2": "psycopg2"}.get(driver, driver)
        if importlib.util.find_spec(module) is None:
            raise SearchError(f"storage {mask(url)} names the driver {driver}, which is not installed "
                              "(pip install 'convsmith[postgres]' installs psycopg 3)")
        return url
    for module, driver in (("psycopg", "psycopg"), ("psycopg2", "psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return f"postgresql+{driver}://{rest}"
    raise SearchError("PostgreSQL storage needs the psycopg package (psycopg 3), which is not installed: "
                      "pip install 'convsmith[postgres]' (or pip install 'psycopg[binary]')")


def transient(e: BaseException) -> bool:
    """Whether an exception (or one it wraps) is a lost or refused database connection."""
    from sqlalchemy import exc

    seen: BaseException | None = e
    while seen is not None:
        if isinstance(seen, (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError)):
            return True
        if isinstance(seen, exc.DBAPIError) and seen.connection_invalidated:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class PatientRDBStorage(optuna.storages.RDBStorage):
    """RDBStorage whose calls wait out a lost connection with backoff for up to ``wait`` seconds (only once
    a first call succeeded: a database that is down when a command starts is reported at once)."""

    def __init__(self, url: str, wait: float = 0.0, **kwargs: Any) -> None:
        self._wait, self._ok, self._depth = wait, False, threading.local()
        self._shown = url
        super().__init__(url, **kwargs)
        self._ok = True

    def _patiently(self, call: Callable[[], Any]) -> Any:
        depth = getattr(self._depth, "n", 0)
        self._depth.n = depth + 1
        try:
            if depth or not self._ok or self._wait <= 0:
                return call()
            shown = self._shown
            return with_backoff(call, self._wait, shown, lambda e: mask(_root_text(e), shown) if transient(e) else None)
        finally:
            self._depth.n = depth


def with_backoff(call: Callable[[], Any], wait: float, url: str, retry: Callable[[Exception], str | None]) -> Any:
    """``call()``, retried with exponential backoff (0.25 s doubling to 8 s) for up to ``wait`` seconds while
    ``retry(error)`` names why the database is away; after that one line, StorageUnavailable."""
    deadline, delay = time.monotonic() + wait, 0.25
    while True:
        try:
            return call()
        except Exception as e:
            reason = retry(e)
            if reason is None:
                raise
            if time.monotonic() + delay > deadline:
                raise StorageUnavailable(f"the database {mask(url)} did not answer for {wait:g} s ({reason}); "
                                         "stopped: rerun the same command to resume") from None
            time.sleep(delay)
            delay = min(8.0, delay * 2)


def _root_text(e: BaseException) -> str:
    while e.__cause__ is not None:
        e = e.__cause__
    return " ".join(str(e).split())[:200]


def _patient(name: str) -> Callable[..., Any]:
    method = getattr(optuna.storages.RDBStorage, name)

    @functools.wraps(method)
    def call(self: PatientRDBStorage, *args: Any, **kwargs: Any) -> Any:
        return self._patiently(lambda: method(self, *args, **kwargs))

    return call


# Every storage call a study makes: BaseStorage's API plus the private RDBStorage methods Optuna's own
# cache in front of it (optuna.storages._CachedStorage) calls directly (a test keeps this list complete).
PRIVATE_CALLS = ("record_heartbeat", "_get_stale_trial_ids", "_get_trials", "_create_new_trial",
                 "_set_trial_param", "_get_best_trial_id")
for _name in [n for n in dir(optuna.storages.BaseStorage) if not n.startswith("__")] + list(PRIVATE_CALLS):
    if callable(getattr(optuna.storages.RDBStorage, _name, None)) and _name != "remove_session":
        setattr(PatientRDBStorage, _name, _patient(_name))


class RetryInterrupted(optuna.storages.RetryHeartbeatStaleTrialCallback):
    """Optuna's retry of a trial whose heartbeat went stale, once, marked so records and counting see it
    (the retry starts without the first attempt's curve and figures)."""

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        from search.attrs import RETRY_OF

        if RETRY_OF in trial.user_attrs:
            return  # a retry that lost its heartbeat again is not retried
        clean = optuna.trial.FrozenTrial(
            number=trial.number, state=trial.state, value=None, values=trial.values,
            datetime_start=trial.datetime_start, datetime_complete=trial.datetime_complete, params=trial.params,
            distributions=trial.distributions, user_attrs={RETRY_OF: trial.number},
            system_attrs=trial.system_attrs, intermediate_values={}, trial_id=trial._trial_id)
        if trial.params:
            super().__call__(study, clean)


def default_storage(root: str | Path, study: str) -> str:
    return f"journal:{(Path(root) / study / JOURNAL_NAME).resolve()}"


def journal_path(url: str) -> Path | None:
    """The file of a journal storage string, or None for other storages."""
    if url.startswith("journal:"):
        return Path(url[len("journal:"):]).expanduser()
    if url.startswith(_RDB) or "://" in url:
        return None
    if url.endswith((".log", ".journal", ".jsonl")):
        return Path(url).expanduser()
    return None


def _rdb(url: str, create: bool, wait: float, heartbeat: float | None, grace: float | None) -> Any:
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite:"):
        # A long busy timeout: SQLite writers queue instead of failing with "database is locked".
        kwargs = {"connect_args": {"timeout": 120}}
        file = Path(url.split("sqlite:///", 1)[-1])
        if not create and not file.exists():
            raise SearchError(f"no SQLite database at {file}")
    elif url.startswith(("postgresql", "postgres:")):
        url = postgres_url(url.replace("postgres://", "postgresql://", 1))
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT,
                                  "options": f"-c statement_timeout={STATEMENT_TIMEOUT * 1000}",
                                  "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
                                  "keepalives_count": 3}
    beat: dict[str, Any] = {}
    if heartbeat is not None:
        beat = {"heartbeat_interval": max(1, round(heartbeat)), "grace_period": max(2, round(grace or 2 * heartbeat)),
                "heartbeat_stale_trial_callback": RetryInterrupted(max_retry=1)}
    tries = 0
    while True:
        tries += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return PatientRDBStorage(url, wait=wait, engine_kwargs=kwargs, **beat)
        except Exception as e:
            if tries == SCHEMA_TRIES or not schema_race(e):
                raise
            time.sleep(0.2 * tries)


def schema_race(e: BaseException) -> bool:
    """Whether opening failed because another process created Optuna's tables in a new database at the same
    instant (both issue CREATE TABLE; one loses on the catalogue's unique index): opening again finds them."""
    from sqlalchemy import exc

    seen: BaseException | None = e
    while seen is not None:
        if isinstance(seen, exc.IntegrityError) or (
                isinstance(seen, exc.ProgrammingError) and "already exists" in str(seen)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def open_storage(url: str, create: bool = True, wait: float = 0.0, heartbeat: float | None = None,
                 grace: float | None = None) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url``; ``create=False`` refuses to create a missing journal file. A database
    storage retries failed calls for ``wait`` seconds and, given ``heartbeat``, runs Optuna's heartbeat."""
    from search.journal import SafeJournalFileBackend, refuse_if_corrupt

    path = journal_path(url)
    try:
        if path is not None:
            if not path.exists():
                if not create:
                    raise SearchError(f"no study storage at {path}")
                path.parent.mkdir(parents=True, exist_ok=True)
            try:
                return optuna.storages.JournalStorage(SafeJournalFileBackend(str(path)))
            except ValueError:  # Optuna replays the log on open: a complete line that is not JSON
                refuse_if_corrupt(path)
                raise
        if url.startswith("grpc://"):
            return grpc_storage(url)
        if url.startswith("redis://") or url.startswith("rediss://"):
            return optuna.storages.JournalStorage(optuna.storages.journal.JournalRedisBackend(url))
        if url.startswith(_RDB):
            return _rdb(url, create, wait, heartbeat, grace)
    except SearchError:
        raise
    except (ImportError, ModuleNotFoundError) as e:
        raise SearchError(f"storage {mask(url)} needs a package that is not installed: {e}") from None
    except Exception as e:  # driver / connection errors come in many types
        reason = mask(_root_text(e), url)
        text = f"cannot open storage {mask(url)}: {type(e).__name__}: {reason}"
        raise (StorageRefused(text, reason) if transient(e) else SearchError(text)) from None
    raise SearchError(f"unknown storage {mask(url)}; use {STORAGE_HELP}")


def grpc_storage(url: str) -> optuna.storages.BaseStorage:
    """A client of an Optuna gRPC storage proxy (``convsmith storage-proxy`` or run_grpc_proxy_server)."""
    if importlib.util.find_spec("grpc") is None:
        raise SearchError("a grpc:// storage needs grpcio: pip install 'convsmith[grpc]'")
    host, _, port = url[len("grpc://"):].rstrip("/").rpartition(":")
    if not host or not port.isdigit():
        raise SearchError(f"expected grpc://HOST:PORT (got {url!r})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return optuna.storages.GrpcStorageProxy(host=host, port=int(port))


def storage_url(config: SearchConfig) -> str:
    return config.storage or default_storage(config.root, config.study)


def search_storage(config: SearchConfig, url: str | None = None, started: bool = False) -> optuna.storages.BaseStorage:
    """The storage a search writes to: patient with a database that blinks, Optuna's heartbeat on databases.
    ``started``: the search already reached this storage (a worker process opening it mid-search), so even
    opening it waits out a restart for ``config.storage_wait`` seconds instead of failing at once."""
    url = url or storage_url(config)

    def attempt() -> optuna.storages.BaseStorage:
        return open_storage(url, wait=config.storage_wait, heartbeat=config.heartbeat, grace=config.grace)

    if not started or journal_path(url) is not None:
        return attempt()
    return with_backoff(attempt, config.storage_wait, url,
                        lambda e: e.reason if isinstance(e, StorageRefused) else None)


def create_or_resume(config: SearchConfig) -> optuna.Study:
    """The study named in ``config``, created if new; a rerun must search the same thing."""
    storage = search_storage(config)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(study_name=config.study, storage=storage, directions=config.directions,
                                    load_if_exists=True)
    except SearchError:
        raise
    except Exception as e:
        raise SearchError(f"cannot open study {config.study!r}: {type(e).__name__}: "
                          f"{mask(_root_text(e), storage_url(config))}") from None
    wanted = config.identity()
    have = study.user_attrs.get(IDENTITY_KEY)
    if have is None:
        if study.trials:
            raise SearchError(f"study {config.study!r} already holds trials that ConvSmith did not make; "
                              "choose another study name")
        study.set_user_attr(IDENTITY_KEY, wanted)
        return study
    differ = [k for k in wanted if json.dumps(have.get(k), sort_keys=True) != json.dumps(wanted[k], sort_keys=True)]
    if differ:
        raise SearchError(f"study {config.study!r} was started with a different {', '.join(differ)}; resume it "
                          "with the same spec and settings, or choose a new study name")
    return study


def load(study: str, storage: str | None = None, root: str | Path = "studies") -> optuna.Study:
    """An existing study for reading (nothing is created)."""
    url = storage or default_storage(root, study)
    store = open_storage(url, create=False)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        st = optuna.load_study(study_name=study, storage=store)
    except KeyError:
        names = optuna.get_all_study_names(store)
        raise SearchError(f"no study {study!r} in {mask(url)} (it holds: {', '.join(names) or 'no studies'})") \
            from None
    if IDENTITY_KEY not in st.user_attrs:
        raise SearchError(f"study {study!r} in {mask(url)} was not made by ConvSmith search")
    return st
