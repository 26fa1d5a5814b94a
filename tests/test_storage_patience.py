"""The database storage waits out a lost connection on every call a study makes, not only the public API:
Optuna's cache in front of RDBStorage calls some private methods directly (a restart hit those)."""

from __future__ import annotations

import inspect
import re

import optuna
import pytest
import sqlalchemy
from optuna.storages import _cached_storage

from search import storage


def test_every_backend_call_of_optunas_cache_waits_out_a_lost_connection():
    called = set(re.findall(r"_backend\.(\w+)\(", inspect.getsource(_cached_storage)))
    assert {"_create_new_trial", "_set_trial_param", "_get_trials"} <= called  # the reader sees the calls
    settings = {"get_heartbeat_interval", "get_heartbeat_stale_trial_callback"}  # return settings, no SQL
    impatient = [n for n in sorted(called - settings) if callable(getattr(optuna.storages.RDBStorage, n, None))
                 and getattr(storage.PatientRDBStorage, n) is getattr(optuna.storages.RDBStorage, n)]
    assert not impatient, f"add to search.storage.PRIVATE_CALLS: {impatient}"


@pytest.mark.parametrize("fail_on", ["INSERT INTO trials ", "INSERT INTO trial_params", "UPDATE trials"])
def test_a_study_rides_out_failing_statements_on_private_calls(tmp_path, fail_on):
    st = storage.open_storage(f"sqlite:///{tmp_path / 'db.sqlite'}", wait=10)
    study = optuna.create_study(storage=st, study_name="s", direction="maximize")
    left = {"n": 2}

    @sqlalchemy.event.listens_for(st.engine, "before_cursor_execute")
    def drop(conn, cursor, statement, *args):  # what a restarting server does to two statements in a row
        if statement.startswith(fail_on) and left["n"]:
            left["n"] -= 1
            raise sqlalchemy.exc.OperationalError(statement, {}, Exception("server closed the connection"))

    for _ in range(3):
        t = study.ask()
        t.suggest_int("x", 0, 100)
        study.tell(t, 0.5)
    assert left["n"] == 0
    trials = study.get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert [t.number for t in trials] == [0, 1, 2]
