"""The dataset string grammar: every part of a bad string is named in the error."""

from __future__ import annotations

import pytest

from training.errors import DataError
from training.source import parse_source


def test_defaults_and_values() -> None:
    s = parse_source("synthetic:shapes?n=500&size=24&channels=1")
    assert (s.kind, s.where, s["n"], s["size"], s["channels"]) == ("synthetic", "shapes", 500, 24, 1)
    assert s["val"] == 0.2 and s["seed"] == 0 and s["classes"] == 6
    assert parse_source("mnist:/data?download=yes")["download"] is True
    assert parse_source("cifar10:/data")["val"] == "test"
    assert parse_source("cifar10:/data?val=0.1")["val"] == 0.1
    assert parse_source("folder:/pics?size=48x64&channels=1")["size"] == (48, 64)
    assert parse_source("idx:/a%20b/mnist?mean=0.5&std=0.25").where == "/a b/mnist"
    assert parse_source("IDX:/x")["mean"] is None


@pytest.mark.parametrize("text, words", [
    ("", ["empty dataset string", "KIND:WHERE"]),
    ("mnist", ["expected KIND:WHERE"]),
    ("mnst:/data", ["unknown kind 'mnst'", "did you mean 'mnist'"]),
    ("synthetic:", ["needs a generator name"]),
    ("idx:", ["needs a path"]),
    ("synthetic:circles", ["unknown synthetic generator 'circles'"]),
    ("synthetic:shapes?sise=32", ["unknown option 'sise'", "did you mean 'size'"]),
    ("synthetic:shapes?n=abc", ["n must be an integer (got 'abc')"]),
    ("synthetic:shapes?n=5", ["n must be in [10, 1000000] (got 5)"]),
    ("synthetic:shapes?size", ["option 'size' needs a value"]),
    ("synthetic:shapes?n=100&n=200", ["option 'n' given twice"]),
    ("synthetic:shapes?val=1.5", ["val must be a fraction in (0, 0.9]"]),
    ("synthetic:shapes?val=test", ["synthetic has no official test split"]),
    ("mnist:/d?download=maybe", ["download must be 1/0"]),
    ("folder:/p?size=12y", ["size must be N or HxW"]),
    ("folder:/p?channels=2", ["channels must be one of 1, 3"]),
    ("idx:/p?mean=0.5", ["give mean and std together"]),
    ("idx:/p?mean=0.5&std=0", ["std must be positive"]),
    ("idx:/p?mean=a&std=1", ["mean must be numbers"]),
])
def test_bad_strings_name_the_bad_part(text: str, words: list[str]) -> None:
    with pytest.raises(DataError) as exc:
        parse_source(text)
    for w in words:
        assert w in str(exc.value)
