"""The installed dependencies are the ones whose private parts we tested (pyproject.toml pins).

An upper bound in pyproject.toml means: we rely on something a minor release may change. The
langchain-openai bound is openai_chat.TESTED_RANGE, the range its PRIVATE_API was tested against.
"""

from __future__ import annotations

import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from langchain_openai import ChatOpenAI
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from fastwrap.adapters.langchain.openai_chat import PRIVATE_API, TESTED_RANGE

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _requirements() -> dict[str, Requirement]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    return {req.name: req for req in map(Requirement, project["dependencies"])}


BOUNDED = sorted(
    name for name, req in _requirements().items() if any(s.operator == "<" for s in req.specifier)
)


def test_langchain_openai_is_pinned_to_the_range_its_private_api_is_tested_against() -> None:
    assert _requirements()["langchain-openai"].specifier == SpecifierSet(TESTED_RANGE)
    assert {"langchain-openai", "fastapi"} <= set(BOUNDED)


@pytest.mark.parametrize("name", BOUNDED)
def test_the_installed_version_is_inside_its_pin(name: str) -> None:
    assert _requirements()[name].specifier.contains(version(name), prereleases=True)


@pytest.mark.parametrize("name", PRIVATE_API)
def test_every_private_name_we_rely_on_is_there(name: str) -> None:
    owner, attribute = name.split(".")
    assert owner == ChatOpenAI.__name__
    assert attribute in ChatOpenAI.model_fields or callable(getattr(ChatOpenAI, attribute, None))


def test_the_overridden_request_builder_keeps_its_signature() -> None:
    parameters = inspect.signature(ChatOpenAI._get_request_payload).parameters

    assert list(parameters) == ["self", "input_", "stop", "kwargs"]
    assert parameters["stop"].kind is inspect.Parameter.KEYWORD_ONLY
