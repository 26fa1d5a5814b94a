"""Where a study lives: the default journal file in the study folder, or any Optuna storage URL.

The default needs no server and takes many writer processes without "database is locked": Optuna's
JournalStorage appends to one file under a lock file. ``optuna-dashboard studies/NAME/journal.log``
opens it unchanged, as it opens the ``sqlite:///`` and ``postgresql://`` URLs also accepted here.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import optuna

from search.config import SearchConfig, SearchError

JOURNAL_NAME = "journal.log"
IDENTITY_KEY = "convsmith"  # study user attribute: what the study searches (see SearchConfig.identity)
_RDB = ("sqlite:", "postgresql", "postgres:", "mysql")
STORAGE_HELP = ("a journal file (journal:PATH or a path ending in .log / .journal), sqlite:///FILE.db, "
                "postgresql://USER:PASSWORD@HOST/DB, mysql://..., or redis://HOST:PORT (needs the redis package)")


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


def open_storage(url: str, create: bool = True) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url``; ``create=False`` refuses to create a missing journal file."""
    path = journal_path(url)
    try:
        if path is not None:
            if not path.exists():
                if not create:
                    raise SearchError(f"no study storage at {path}")
                path.parent.mkdir(parents=True, exist_ok=True)
            lock = optuna.storages.journal.JournalFileOpenLock(str(path))
            return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path), lock))
        if url.startswith("redis://") or url.startswith("rediss://"):
            return optuna.storages.JournalStorage(optuna.storages.journal.JournalRedisBackend(url))
        if url.startswith(_RDB):
            # A long busy timeout: SQLite writers queue instead of failing with "database is locked".
            kwargs: dict[str, Any] = {"connect_args": {"timeout": 120}} if url.startswith("sqlite:") else {}
            if url.startswith("sqlite:") and not create:
                file = Path(url.split("sqlite:///", 1)[-1])
                if not file.exists():
                    raise SearchError(f"no SQLite database at {file}")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
    except SearchError:
        raise
    except (ImportError, ModuleNotFoundError) as e:
        raise SearchError(f"storage {url!r} needs a package that is not installed: {e}") from None
    except Exception as e:  # driver / connection errors come in many types
        raise SearchError(f"cannot open storage {url!r}: {type(e).__name__}: {e}") from None
    raise SearchError(f"unknown storage {url!r}; use {STORAGE_HELP}")


def storage_url(config: SearchConfig) -> str:
    return config.storage or default_storage(config.root, config.study)


def create_or_resume(config: SearchConfig) -> optuna.Study:
    """The study named in ``config``, created if new; a rerun must search the same thing."""
    storage = open_storage(storage_url(config))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(study_name=config.study, storage=storage, directions=config.directions,
                                    load_if_exists=True)
    except Exception as e:
        raise SearchError(f"cannot open study {config.study!r}: {type(e).__name__}: {e}") from None
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
        raise SearchError(f"no study {study!r} in {url} (it holds: {', '.join(names) or 'no studies'})") from None
    if IDENTITY_KEY not in st.user_attrs:
        raise SearchError(f"study {study!r} in {url} was not made by ConvSmith search")
    return st
