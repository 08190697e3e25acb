"""What each local DynamoDB backend can do, and a handle tests use to talk to one.

Feature sets follow the "Local backends" table in shared/reference/facts.md. A test that
needs a capability calls ``backend.require("ttl-expiry", ...)``: on a backend without it the
test is skipped with the reason ``"<backend> lacks <feature>"``, never silently passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import boto3
import pytest

from ddbkit_infra.local import LOCAL_REGION

BackendName = Literal["moto-inprocess", "moto-server", "dynamodb-local"]

MOTO_INPROCESS: BackendName = "moto-inprocess"
MOTO_SERVER: BackendName = "moto-server"
DYNAMODB_LOCAL: BackendName = "dynamodb-local"
BACKEND_NAMES: tuple[BackendName, ...] = (MOTO_INPROCESS, MOTO_SERVER, DYNAMODB_LOCAL)
SERVER_BACKEND_NAMES: tuple[BackendName, ...] = (MOTO_SERVER, DYNAMODB_LOCAL)

ALL_FEATURES: frozenset[str] = frozenset(
    {
        "tables",  # tables, GSI/LSI, CRUD with conditions, query/scan, parallel scan
        "partiql",  # ExecuteStatement / BatchExecuteStatement / ExecuteTransaction
        "strict-limits",  # rejects 26-item batch, put+delete same key, unused placeholders, >38 digits, Limit=0
        "transactions",  # TransactWriteItems / TransactGetItems
        "client-request-token",  # ClientRequestToken reuse -> IdempotentParameterMismatch
        "ttl-config",  # UpdateTimeToLive / DescribeTimeToLive
        "ttl-expiry",  # expired items are actually deleted (within seconds)
        "streams",  # dynamodbstreams API
        "consumed-capacity",  # realistic ReturnConsumedCapacity (per index), not always 1.0
        "pitr",  # UpdateContinuousBackups / point-in-time restore
        "backups",  # CreateBackup / RestoreTableFromBackup
        "export",  # ExportTableToPointInTime (needs S3Prefix; no manifest on moto)
        "import",  # ImportTable from S3
        "tags",  # TagResource / ListTagsOfResource
        "deletion-protection",  # DeletionProtectionEnabled
        "replicas",  # UpdateTable ReplicaUpdates accepted (moto creates no replica)
        "control-plane",  # application-autoscaling, cloudwatch, backup, dax, kms, s3 clients
        "aioboto3",  # aioboto3/aiobotocore clients work against it
    }
)

# Shared by moto in-process and moto server.
_MOTO_COMMON = frozenset(
    {
        "tables",
        "partiql",
        "transactions",
        "ttl-config",
        "streams",
        "pitr",
        "backups",
        "export",
        "import",
        "tags",
        "deletion-protection",
        "replicas",
        "control-plane",
    }
)

FEATURES: dict[BackendName, frozenset[str]] = {
    # mock_aws patches botocore in this process; aiobotocore breaks under it.
    MOTO_INPROCESS: _MOTO_COMMON,
    MOTO_SERVER: _MOTO_COMMON | {"aioboto3"},
    # AWS's emulator: strict like the service, but no backups/PITR/export/import/tags/replicas
    # and no control-plane services at all.
    DYNAMODB_LOCAL: frozenset(
        {
            "tables",
            "partiql",
            "strict-limits",
            "transactions",
            "client-request-token",
            "ttl-config",
            "ttl-expiry",
            "streams",
            "consumed-capacity",
            "deletion-protection",
            "aioboto3",
        }
    ),
}

# Services a backend without "control-plane" still serves.
DATA_PLANE_SERVICES = frozenset({"dynamodb", "dynamodbstreams"})

FAKE_ACCESS_KEY = "testing"
FAKE_SECRET_KEY = "testing"


@dataclass(frozen=True)
class Backend:
    """One local DynamoDB backend as seen by a test.

    ``endpoint_url`` is ``None`` for moto in-process (``mock_aws`` intercepts botocore).
    """

    name: BackendName
    endpoint_url: str | None
    region: str = LOCAL_REGION
    features: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        unknown = self.features - ALL_FEATURES
        if unknown:
            raise ValueError(f"unknown backend features: {sorted(unknown)}")

    @classmethod
    def for_name(cls, name: BackendName, endpoint_url: str | None = None) -> Backend:
        """The backend ``name`` with its feature set from :data:`FEATURES`."""
        return cls(name=name, endpoint_url=endpoint_url, region=LOCAL_REGION, features=FEATURES[name])

    @property
    def is_server(self) -> bool:
        """True for the HTTP backends (moto-server, dynamodb-local)."""
        return self.endpoint_url is not None

    def has(self, feature: str) -> bool:
        """Whether this backend has ``feature`` (a name from :data:`ALL_FEATURES`)."""
        _check_known(feature)
        return feature in self.features

    def require(self, *features: str) -> None:
        """Skip the calling test with ``"<name> lacks <feature>"`` unless every feature is present.

        Unknown feature names raise ``ValueError`` so a typo can't turn into a silent skip.
        """
        for feature in features:
            if not self.has(feature):
                pytest.skip(f"{self.name} lacks {feature}")

    def session(self) -> boto3.Session:
        """A boto3 session with fake credentials in this backend's region."""
        return boto3.Session(
            aws_access_key_id=FAKE_ACCESS_KEY,
            aws_secret_access_key=FAKE_SECRET_KEY,
            region_name=self.region,
        )

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for any SDK client factory (boto3, aioboto3): region, fake keys, endpoint."""
        kwargs: dict[str, Any] = {
            "region_name": self.region,
            "aws_access_key_id": FAKE_ACCESS_KEY,
            "aws_secret_access_key": FAKE_SECRET_KEY,
        }
        if self.endpoint_url is not None:
            kwargs["endpoint_url"] = self.endpoint_url
        return kwargs

    def _require_service(self, service: str) -> None:
        if service not in DATA_PLANE_SERVICES:
            self.require("control-plane")

    def client(self, service: str = "dynamodb", **kwargs: Any) -> Any:
        """A boto3 client for ``service`` on this backend.

        Services other than dynamodb/dynamodbstreams need "control-plane" (skips otherwise).
        """
        self._require_service(service)
        if self.endpoint_url is not None:
            kwargs.setdefault("endpoint_url", self.endpoint_url)
        return self.session().client(service, **kwargs)  # type: ignore[call-overload]

    def resource(self, service: str = "dynamodb", **kwargs: Any) -> Any:
        """A boto3 resource for ``service`` on this backend (same rules as :meth:`client`)."""
        self._require_service(service)
        if self.endpoint_url is not None:
            kwargs.setdefault("endpoint_url", self.endpoint_url)
        return self.session().resource(service, **kwargs)  # type: ignore[call-overload]


def _check_known(feature: str) -> None:
    if feature not in ALL_FEATURES:
        raise ValueError(f"unknown backend feature {feature!r}; known: {sorted(ALL_FEATURES)}")


def create_example_table(client: Any, example: str, *, keep_tags: bool = False) -> Any:
    """Create ``examples/<example>``'s table with ``client``; return its (unresolved) TableConfig.

    The examples' KMS key ARNs are account-specific (no local backend has them), so SSE is left out;
    tags too unless ``keep_tags`` (DynamoDB Local has none).
    """
    from pathlib import Path

    from ddbkit.config import load_component_file
    from ddbkit_infra.resources import create_table_request

    root = Path(__file__).resolve().parents[2]
    cfg = load_component_file(root / "examples" / example / "component.yaml").table()
    req = create_table_request(cfg)
    req.pop("SSESpecification", None)
    if not keep_tags:
        req.pop("Tags", None)
    client.create_table(**req)
    return cfg
