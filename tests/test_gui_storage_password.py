"""Issue 13, item 8 in the app: a database password is never on screen. Typed into the storage URL it moves
to a masked field; the search still gets the whole URL."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QLineEdit

from search.storage import split_password, with_password
from tests.test_gui_search import open_window

SECRET = "s3cr@t-Pw"
URL = f"postgresql://bob:{SECRET}@db.example:5432/studies"


@pytest.mark.parametrize("url", [URL, "postgresql://bob:pw@h/db", "sqlite:///a.db", "postgresql://bob@h/db",
                                 "postgresql+psycopg://u:p%40ss@10.0.0.1/x?sslmode=require"])
def test_a_password_splits_off_and_joins_back(url: str) -> None:
    bare, password = split_password(url)
    assert password not in bare or not password
    assert with_password(bare, password) == url


def test_the_storage_field_never_shows_the_password(qtbot, tmp_path) -> None:
    window = open_window(qtbot, tmp_path, {"format": "convsmith/1", "name": "n", "input": [1, 8, 8],
                                           "num_classes": 2, "body": [{"block": "conv", "out": 2},
                                                                      {"block": "global_pool"},
                                                                      {"block": "flatten"},
                                                                      {"block": "classifier"}]})
    form = window.pages_extra.search.form
    form.url_choice.setChecked(True)
    form.url.setFocus()
    qtbot.keyClicks(form.url, URL)  # typed as a person would, then Enter
    qtbot.keyClick(form.url, Qt.Key.Key_Return)
    assert SECRET not in form.url.text() and form.url.text() == "postgresql://bob@db.example:5432/studies"
    assert form.password.echoMode() == QLineEdit.EchoMode.Password and SECRET not in form.password.displayText()
    assert form.storage() == URL  # what the search gets
    config, _ = form.config(window.document.spec)
    assert config.storage == URL
    form.show_study("other", tmp_path, "postgresql://amy:hunter2@h/db", {})  # a stored study's URL
    assert "hunter2" not in form.url.text() and form.storage() == "postgresql://amy:hunter2@h/db"
    form.password.clear()
    form.password.setText("new-one")  # a password typed in its own field
    assert form.storage() == "postgresql://amy:new-one@h/db"
