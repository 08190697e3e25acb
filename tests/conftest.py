"""Suite-wide fixtures: fake AWS credentials and the three local DynamoDB backends.

Fixtures
--------
``moto_server`` (session)      a running :class:`ddbkit_infra.local.MotoServer`
``dynamodb_local`` (session)   a running :class:`ddbkit_infra.local.DynamoDBLocal`
``backend``                    :class:`backends.Backend`, parametrised moto-inprocess / moto-server / dynamodb-local
``server_backend``             :class:`backends.Backend`, parametrised moto-server / dynamodb-local (HTTP only)
``moto_backend``               :class:`backends.Backend` on moto-server only
``ddb_local_backend``          :class:`backends.Backend` on dynamodb-local only

Server-backed backends are reset after every test, so each test starts with no tables.
Servers start lazily, only when a selected test needs them (``-m "not integration"`` starts none).

DynamoDB Local needs Java and ``make setup``'s jar: when either is missing, tests that use it
FAIL with the reason, unless ``DDBKIT_SKIP_DYNAMODB_LOCAL=1``, which turns that into a skip.
"""

from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Iterator

import pytest
from backends import DYNAMODB_LOCAL, MOTO_INPROCESS, MOTO_SERVER, Backend, BackendName

from ddbkit_infra.local import BackendUnavailable, DynamoDBLocal, MotoServer, local_credentials_env

# --- Never reach real AWS --------------------------------------------------------------------
# Override (not setdefault) whatever the developer's shell has, at import, before any test or
# fixture creates a boto3 session (importing boto3 reads no environment).
for _var in list(os.environ):
    if _var.startswith("AWS_ENDPOINT_URL") or _var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    ):
        del os.environ[_var]
os.environ.update(local_credentials_env())
# Ignore ~/.aws/config and ~/.aws/credentials (profiles, SSO, endpoint overrides).
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull

SKIP_DYNAMODB_LOCAL_ENV = "DDBKIT_SKIP_DYNAMODB_LOCAL"


def _only_the_managed_policies_ddbkit_attaches() -> None:
    """moto knows AWS's ~1,600 managed IAM policies only when MOTO_IAM_LOAD_MANAGED_POLICIES is on (AWS
    Backup's role attaches two of them, so MotoServer and the provisioning tests turn it on); it then parses
    and builds all of them again for each of six partitions on every reset, 0.7-1.5 s after each test that
    used moto. The suite attaches only ddbkit's own (ddbkit_infra.resources.BACKUP_MANAGED_POLICIES), so moto
    is given those alone. A test that needs another managed policy must add it here."""
    import json

    try:
        import moto.iam.models as iam_models

        from ddbkit_infra.resources import BACKUP_MANAGED_POLICIES
    except ImportError:  # a runtime-only venv (tests/install copies this file there): no moto, nothing to do
        return

    every = json.loads(iam_models.aws_managed_policies_data)
    wanted = {path.rsplit("/", 1)[-1] for path in BACKUP_MANAGED_POLICIES}
    iam_models.aws_managed_policies_data = json.dumps({name: every[name] for name in sorted(wanted)})


_only_the_managed_policies_ddbkit_attaches()
# ...and on for the whole session (cheap now): a test's monkeypatch.setenv of it deletes it at teardown, which
# left later moto servers without AWS Backup's policy (apply then failed) depending on the test order
os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"


# --- Session servers --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's threaded server on a free loopback port, shared by the whole session."""
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    """AWS's DynamoDB Local (in-memory) on a free port, shared by the whole session.

    Missing Java or jar: fails with the install hint, or skips if DDBKIT_SKIP_DYNAMODB_LOCAL=1.
    """
    server = DynamoDBLocal()
    try:
        server.start()
    except BackendUnavailable as exc:
        if os.environ.get(SKIP_DYNAMODB_LOCAL_ENV) == "1":
            pytest.skip(f"DynamoDB Local unavailable ({SKIP_DYNAMODB_LOCAL_ENV}=1): {exc}")
        pytest.fail(f"DynamoDB Local unavailable: {exc} (or set {SKIP_DYNAMODB_LOCAL_ENV}=1)", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


# --- Per-test backends ------------------------------------------------------------------------
def _backend(request: pytest.FixtureRequest, name: BackendName) -> Iterator[Backend]:
    if name == MOTO_INPROCESS:
        from moto import mock_aws

        with mock_aws():
            yield Backend.for_name(name)
        return
    server: MotoServer | DynamoDBLocal
    if name == MOTO_SERVER:
        server = request.getfixturevalue("moto_server")
    elif name == DYNAMODB_LOCAL:
        server = request.getfixturevalue("dynamodb_local")
    else:  # pragma: no cover
        raise ValueError(f"unknown backend {name!r}")
    try:
        yield Backend.for_name(name, server.endpoint_url)
    finally:
        server.reset()


_INTEGRATION = pytest.mark.integration
_ALL_PARAMS = [
    pytest.param(MOTO_INPROCESS, id=MOTO_INPROCESS),
    pytest.param(MOTO_SERVER, id=MOTO_SERVER, marks=_INTEGRATION),
    pytest.param(DYNAMODB_LOCAL, id=DYNAMODB_LOCAL, marks=_INTEGRATION),
]
_SERVER_PARAMS = _ALL_PARAMS[1:]


@pytest.fixture(params=_ALL_PARAMS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Each of moto-inprocess, moto-server and dynamodb-local in turn, empty at the start."""
    yield from _backend(request, request.param)


@pytest.fixture(params=_SERVER_PARAMS)
def server_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The two HTTP backends (moto-server, dynamodb-local) in turn, empty at the start."""
    yield from _backend(request, request.param)


@pytest.fixture
def moto_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """moto-server only (for control-plane and moto-specific tests); reset afterwards."""
    yield from _backend(request, MOTO_SERVER)


@pytest.fixture
def ddb_local_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """dynamodb-local only (AWS's strict emulator); reset afterwards."""
    yield from _backend(request, DYNAMODB_LOCAL)


_SERVER_FIXTURES = frozenset({"moto_server", "dynamodb_local", "moto_backend", "ddb_local_backend"})


# Folders whose every test runs servers, subprocesses or whole documents end to end: the parity suite
# (capture, proxy and fault servers on loopback), the docs (their blocks against local backends, the shell
# walk-through with `ddbkit local`), the CLI (subprocesses, a pty), the installs (throwaway venvs).
_INTEGRATION_DIRS = ("parity", "docs", "cli", "install")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark as ``integration`` the tests that use a server fixture directly (params are marked already) and
    every test of :data:`_INTEGRATION_DIRS`, so ``make check`` (``-m "not integration ..."``) runs no server."""
    tests_root = Path(__file__).resolve().parent
    for item in items:
        folder = Path(str(item.fspath)).resolve().relative_to(tests_root).parts[0]
        if folder in _INTEGRATION_DIRS or _SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(_INTEGRATION)
