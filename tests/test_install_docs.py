"""The python snippets of docs/installation.md and docs/testing.md run, through tests/test_docs.py's own
mechanism (blocks in order, one namespace per page, on moto; ```python no-run blocks are only parsed)."""

from __future__ import annotations

import pytest
import test_docs


@pytest.mark.parametrize("page", ["installation.md", "testing.md"])
def test_install_and_testing_pages_run(page: str) -> None:
    test_docs.test_page_snippets_run(page)
