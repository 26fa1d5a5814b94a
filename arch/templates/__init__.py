"""Shipped template specs (JSON files beside this module), listed by ``convsmith templates``."""

from __future__ import annotations

from importlib import resources

from arch.errors import ConvSmithError
from arch.fields import did_you_mean
from arch.spec import Spec, loads


def names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".json"))


def template_text(name: str) -> str:
    if name not in names():
        raise ConvSmithError(f"unknown template {name!r}{did_you_mean(name, names())}; "
                             f"available: {', '.join(names())}")
    return resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")


def load_template(name: str) -> Spec:
    return loads(template_text(name), f"template:{name}")
