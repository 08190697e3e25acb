"""Fixtures of the parity suite (tests/parity): every transport against plain boto3.

``capture``        a :class:`parity_harness.CaptureServer` on 127.0.0.1 (stopped after the test)
``aws_files``      write AWS config/credentials files (``aws_files(config=..., credentials=...)``) and point
                   AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at them
``no_env_keys``    remove the suite's fake AWS_ACCESS_KEY_ID/... so profiles and providers are consulted
``transport``      parametrised over :data:`parity_harness.TRANSPORTS`

Every test starts with ``boto3.DEFAULT_SESSION`` unset and restores it afterwards. The integrity engineer's
rows (CRC, truncation) live in their own files here and use the same fixtures.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from parity_harness import TRANSPORTS, WIRE_TRANSPORTS, CaptureServer


@pytest.fixture(scope="session", autouse=True)
def _shared_model_loader() -> Iterator[None]:
    """One botocore data loader for the whole suite: each row makes new sessions (that is the point), and
    re-reading the service model and endpoint ruleset JSON for each would dominate the suite's time."""
    import botocore.loaders
    import botocore.session

    loaders: dict[Any, Any] = {}
    original = botocore.loaders.create_loader

    def cached(search_path_string: Any = None) -> Any:
        if search_path_string not in loaders:
            loaders[search_path_string] = original(search_path_string)
        return loaders[search_path_string]

    botocore.session.create_loader = cached  # type: ignore[attr-defined]
    yield
    botocore.session.create_loader = original  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _fresh_default_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    for name in ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_ACCOUNT_ID",
                 "AWS_ACCOUNT_ID_ENDPOINT_MODE", "AWS_SDK_UA_APP_ID", "_X_AMZN_TRACE_ID", "AWS_LAMBDA_FUNCTION_NAME",
                 "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def capture() -> Iterator[CaptureServer]:
    server = CaptureServer()
    yield server
    server.close()


@pytest.fixture
def aws_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    def write(config: str = "", credentials: str = "") -> None:
        (tmp_path / "config").write_text(config)
        (tmp_path / "credentials").write_text(credentials)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
        # boto3, the reference, ignores AWS_REGION (conftest sets it); ddbkit puts it before AWS_DEFAULT_REGION
        # and the profile (tests/core/test_region.py): rows about the profile's region compare without it
        monkeypatch.delenv("AWS_REGION", raising=False)

    return write


@pytest.fixture
def no_env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert "AWS_ACCESS_KEY_ID" not in os.environ


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=WIRE_TRANSPORTS)
def wire_transport(request: pytest.FixtureRequest) -> str:
    """:data:`parity_harness.WIRE_TRANSPORTS`: ddbkit's four transports and an accelerated boto3 client."""
    return str(request.param)
