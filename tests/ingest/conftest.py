"""Fixtures for ingestion tests: builders of fixture documents."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from .builders import ARTICLE, make_docx, make_hwpx, make_pdf


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config) -> None:
    """Hypothesis caches constants and Unicode tables at collection: keep them under the
    session's temporary folder rather than ./.hypothesis."""
    from hypothesis.configuration import set_hypothesis_home_dir

    factory = getattr(config, "_tmp_path_factory", None)
    if factory is not None:
        set_hypothesis_home_dir(factory.mktemp("hypothesis"))


@pytest.fixture
def build() -> SimpleNamespace:
    """Builders of fixture documents and the sample article text."""
    return SimpleNamespace(pdf=make_pdf, docx=make_docx, hwpx=make_hwpx, article=ARTICLE)
