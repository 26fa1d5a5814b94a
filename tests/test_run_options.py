"""Run options declared once (arch/options.py): for every training and search option, the CLI flag, the GUI
form and the search knob expose the same name, range and default, read back from the real parser, widgets
and spec validation; search configs round-trip through JSON and ``search --config``; bad config files are
one line naming the file and the key; the spec's top-level keys come from one table."""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import fields, replace

import pytest

from arch.errors import SpecError
from arch.options import ConfigError, Option, options_of
from arch.search_space import SPEC_KNOBS, TRAIN_KNOBS, parse_space
from arch.spec import Spec, parse_spec, to_dict
from arch.spec_keys import KEYS, NUMBERS, TOP_KEYS
from arch.train_options import TrainConfig
from main import build_parser, main
from search.cli import _config as search_config_of
from search.config import Limits, SearchConfig, config_options, load_config
from tests.conftest import ROOT
from tests.test_search_study import SPEC

TRAIN = options_of(TrainConfig)
DATA = "synthetic:shapes?n=64&size=16&channels=1&classes=4"


def _actions(command: str) -> dict[str, argparse.Action]:
    """The flags of a subcommand by destination, read from the real parser."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices[command]._actions}


def _beyond(o: Option) -> list[float]:
    """Values just outside an option's declared range: one step below its minimum and above its maximum."""
    assert o.min is not None and o.max is not None, f"{o.name}: a number option declares both bounds"
    if o.kind == "int":
        return [o.min - 1, o.max + 1]
    return [o.min - max(abs(o.min) * 0.5, 1e-12), o.max + max(abs(o.max), 1.0) * 1e-6]


def _flag_value(o: Option, action: argparse.Action, value: object) -> object:
    return action.type(str(int(value)) if o.kind == "int" else repr(float(value)))  # type: ignore[misc]


@pytest.mark.parametrize("o", TRAIN, ids=[o.name for o in TRAIN])
def test_train_cli_config_and_search_knob_agree_on_name_range_and_default(o: Option) -> None:
    flags = _actions("train")
    action = flags[o.name]  # the flag's destination is the option's name
    assert action.default == o.default == getattr(TrainConfig(), o.name)
    assert o.cli in action.option_strings
    if o.kind in ("int", "float"):
        for edge in (o.min, o.max):
            assert _flag_value(o, action, edge) == edge  # the declared edges are accepted ...
            assert not [p for p in replace(TrainConfig(), **{o.name: edge}).problems() if p.startswith(o.name)]
        for bad in _beyond(o):  # ... and one step beyond is refused by the flag and by the config, by name
            with pytest.raises(ConfigError, match=f"^{o.name}: must be in"):
                _flag_value(o, action, bad)
            assert any(p.startswith(f"{o.name}: must be in") for p in replace(TrainConfig(), **{o.name: bad})
                       .problems())
    if o.kind == "choice":
        for c in o.choices:
            assert action.type(str(c)) == c  # type: ignore[misc]
    knob = TRAIN_KNOBS.get(o.name)
    assert (knob is not None) == o.searchable
    if knob is not None:  # the search varies the same declaration: same range, default and choices
        assert (knob.min, knob.max, knob.default, knob.choices) == (o.min, o.max, o.default, o.choices)
        if o.kind in ("int", "float"):
            decl = {o.kind: [o.min, o.max]}
            parse_space(parse_spec({**SPEC, "search": {f"train.{o.name}": decl}}))
            for bad in _beyond(o):
                wide = {o.kind: sorted([bad, o.min if bad > o.max else o.max])}  # type: ignore[operator]
                with pytest.raises(SpecError, match=f"search.train.{o.name}: range"):
                    parse_spec({**SPEC, "search": {f"train.{o.name}": wide}})


def test_every_training_option_is_declared_and_is_a_flag() -> None:
    assert [f.name for f in fields(TrainConfig)] == [o.name for o in TRAIN]  # every field is declared
    flags = _actions("train")
    assert {o.name for o in TRAIN} <= set(flags)  # the command's other flags (spec, data, out, ...) are its own
    assert len({o.cli for o in TRAIN}) == len(TRAIN)


def test_the_search_guide_lists_exactly_the_searchable_training_options() -> None:
    text = (ROOT / "docs" / "search.md").read_text(encoding="utf-8")
    line = text[text.index("- `train.*` knobs:"):text.index("A one-value `choices`")]
    assert re.findall(r"`(\w+)`", line) == list(TRAIN_KNOBS)


def test_search_options_share_trainings_ranges_and_their_flags_derive_from_them() -> None:
    search = {o.name: o for o in options_of(SearchConfig)}
    train = {o.name: o for o in TRAIN}
    for name in ("epochs", "seed", "device"):
        assert (search[name].min, search[name].max, search[name].choices, search[name].pattern) == (
            train[name].min, train[name].max, train[name].choices, train[name].pattern)
    assert "mps" in search["device"].choices  # a device for training is a device for a search
    flags = _actions("search")
    for o in config_options():
        action = flags[o.name]
        assert action.default is argparse.SUPPRESS  # a flag not given keeps the --config file's value
        assert o.cli in action.option_strings and (o.help() in action.help.replace("%%", "%"))
    assert {o.name for o in config_options()} | {"help", "spec", "config", "train"} == set(flags)


def test_gui_forms_hold_the_declared_ranges_defaults_and_choices(qtbot) -> None:
    from gui.search_form import SearchForm
    from gui.train_form import TrainForm

    form = TrainForm()
    qtbot.addWidget(form)
    form.set_config(TrainConfig())
    assert list(form.editors) == [o.name for o in TRAIN]
    for o in TRAIN:
        editor = form.editors[o.name]
        assert editor.value() == o.default, o.name
        inner = getattr(editor, "inner", editor)
        if o.kind in ("int", "float"):
            assert (inner.box.lo, inner.box.hi) == (o.min, o.max), o.name
            assert inner.box.minimum() <= o.min and inner.box.maximum() >= o.max, o.name  # the widget holds it
        if o.kind == "choice":
            assert tuple(inner.choices) == o.choices, o.name
    assert form.config() == TrainConfig()

    search = SearchForm()
    qtbot.addWidget(search)
    declared = {o.name: o for o in options_of(SearchConfig)}
    for name in ("trials", "workers", "epochs", "seed"):
        box, o = getattr(search, name), declared[name]
        assert (box.minimum(), box.maximum(), box.value()) == (o.min, o.max, o.default), name
    for name in ("sampler", "device"):
        box = getattr(search, name)
        assert [box.itemText(i) for i in range(box.count())] == list(declared[name].choices)
        assert box.currentText() == declared[name].default
    assert list(search.limits) == [o.name for o in options_of(Limits)]
    config, problems = search.config(parse_spec(SPEC))
    assert not problems and (config.trials, config.workers, config.seed, config.sampler, config.device) == (
        20, 1, 0, "tpe", "auto")


# ------------------------------------------------------------------------------------------ config files
def _config(tmp_path, **kw) -> SearchConfig:
    base = dict(spec=parse_spec(SPEC), data=DATA, study="files", root=tmp_path / "studies", trials=4, epochs=2,
                objectives=("accuracy", "macs"), limits=Limits(max_macs=300_000, max_latency=2.5), pruner="none",
                timeout=30.0, train={"lr": 0.01, "crop": None}, storage_wait=5.0, force_workers=True,
                artifacts=tmp_path / "weights")
    return SearchConfig(**{**base, **kw})


def test_search_config_round_trips_through_json(tmp_path) -> None:
    config = _config(tmp_path)
    path = tmp_path / "search.json"
    path.write_text(json.dumps(config.to_json()))  # the spec embedded
    again = load_config(path, {})
    assert again == config and again.to_json() == config.to_json()
    (tmp_path / "net.json").write_text(json.dumps(to_dict(config.spec)))
    path.write_text(json.dumps(config.to_json(spec="net.json")))  # the spec named, relative to the file
    assert load_config(path, {}) == config
    path.write_text(json.dumps({**config.to_json(spec="net.json"), "root": "studies", "artifacts": None}))
    moved = load_config(path, {})  # folders in a file are relative to it, wherever the command runs
    assert moved.root == tmp_path / "studies" and moved.artifacts is None


def test_search_config_flag_overrides_the_file_and_the_rest_is_kept(tmp_path) -> None:
    config = _config(tmp_path)
    path = tmp_path / "search.json"
    path.write_text(json.dumps(config.to_json()))
    args = build_parser().parse_args(["search", "--config", str(path), "--trials", "9", "--max-params", "200k",
                                      "--train", "lr=0.02"])
    loaded = search_config_of(args)
    assert loaded == replace(config, trials=9, limits=replace(config.limits, max_params=200_000),
                             train={"lr": 0.02, "crop": None})
    args = build_parser().parse_args(["search", "--config", str(path)])
    assert search_config_of(args) == config  # workers from the file, not the CLI's one-per-GPU default


def test_gui_starts_a_study_from_its_saved_config(tmp_path) -> None:
    from gui.study_process import command, save_config

    config = _config(tmp_path, root=tmp_path / "studies")
    folder = tmp_path / "studies" / "files"
    folder.mkdir(parents=True)
    path = save_config(config, folder)
    argv = command(path)
    assert argv[-3:] == ["search", "--config", str(path)]
    assert search_config_of(build_parser().parse_args(argv[2:])) == replace(config, root=config.root.resolve())


@pytest.mark.parametrize("content, message", [
    ("{not json", "invalid JSON at line 1"),
    ("[1, 2]", "a search config is a JSON object"),
    ('{"trails": 3}', "trails: unknown option (did you mean 'trials'?)"),
    ('{"trials": 0}', "trials: must be in [1, 1000000] (got 0)"),
    ('{"device": "tpu"}', "device: must be one of"),
    ('{"max_macs": -5}', "max_macs: must be in [1, "),
    ('{"train": {"lr": 50}}', "train.lr: must be in [1e-09, 10] (got 50)"),
    ('{"train": {"epochs": 3}}', "train: 'epochs' is set by the search (epochs)"),
    ('{"format": "convsmith-search/9"}', "format: unsupported"),
    ('{"data": "x", "study": "s"}', "spec: missing"),
    ('{"spec": "template:lenet5", "study": "s"}', "data: missing"),
])
def test_a_bad_config_file_is_one_line_naming_the_file_and_key(tmp_path, capsys, content: str,
                                                               message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["search", "--config", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and message in err, err
    assert "Traceback" not in err


def test_a_missing_config_file_and_a_missing_spec_say_so(tmp_path, capsys) -> None:
    assert main(["search", "--config", str(tmp_path / "none.json")]) == 1
    assert "no such search config file" in capsys.readouterr().err
    assert main(["search", "--data", DATA, "--study", "s"]) == 1
    assert "spec: missing" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ spec top keys
def test_spec_top_level_keys_come_from_one_table() -> None:
    assert set(KEYS) == {f.name for f in fields(Spec)} | {"format"}  # every key a spec holds, and only those
    assert [k.name for k in TOP_KEYS if k.required] == ["format", "name", "input", "num_classes", "body"]
    for name, o in NUMBERS.items():
        if o.default is not None:
            assert getattr(Spec("x", (1, 8, 8), 2), name) == o.default
        for bad in (o.min - 1e-3 if o.min else -1, o.max * 2):
            with pytest.raises(SpecError, match=rf"{name}: must be in \["):
                parse_spec({**SPEC, name: int(bad) if o.kind == "int" else bad})
    assert SPEC_KNOBS["width_mult"] is NUMBERS["width_mult"] and SPEC_KNOBS["depth_mult"] is NUMBERS["depth_mult"]
    with pytest.raises(SpecError, match="widht_mult: unknown top-level key .did you mean 'width_mult'"):
        parse_spec({**SPEC, "widht_mult": 1.0})
    saved = to_dict(parse_spec({**SPEC, "bn_eps": NUMBERS["bn_eps"].default, "width_mult": 0.5}))
    assert "bn_eps" not in saved and saved["width_mult"] == 0.5  # defaults are not written
