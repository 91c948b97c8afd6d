"""Every name pcapkit exports resolves to the object its module defines."""

from __future__ import annotations

import importlib

import pytest

import pcapkit


@pytest.mark.parametrize("name", sorted(n for n in pcapkit.__all__ if n != "__version__"))
def test_public_name_resolves(name: str) -> None:
    value = getattr(pcapkit, name)
    module, _, attr = pcapkit._LAZY[name].partition(":")
    assert value is getattr(importlib.import_module(module), attr or name)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        pcapkit.no_such_name  # noqa: B018
