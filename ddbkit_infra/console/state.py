"""What one console process knows: its settings, the component files, the endpoint's clients and tables,
and the capacity its own requests consumed (the capacity page's figures where CloudWatch is absent).

Nothing here imports the web stack, so the safety rules (:func:`is_loopback_endpoint`,
:meth:`ConsoleState.writes_allowed`) and the usage record are unit-tested without a server.
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from ddbkit.config import ComponentFile, TableConfig, load_component_file
from ddbkit.core.usage import Usage, UsageSnapshot
from ddbkit.ops.capacity import CapacityReport, build_report, usage_delta

__all__ = ["ComponentRef", "ConsoleSettings", "ConsoleState", "UsageRecord", "is_loopback_endpoint",
           "is_loopback_host", "load_model"]

#: Seconds per period and periods per window of the capacity page when the figures are the console's own.
LOCAL_PERIOD = 60
LOCAL_WINDOW = 15 * 60


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip("[]").lower()
    if name in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_loopback_endpoint(endpoint_url: str | None) -> bool:
    """True when ``endpoint_url`` is on this machine (DynamoDB Local, ``ddbkit local``); None means AWS."""
    if not endpoint_url:
        return False
    return is_loopback_host(urlsplit(endpoint_url).hostname or "")


@dataclass
class ConsoleSettings:
    """The command line of ``ddbkit console``. ``token`` is required from browsers when not None."""

    files: Sequence[str] = ()
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    host: str = "127.0.0.1"
    port: int = 8008
    allow_writes: bool = False
    token: str | None = None
    #: table or component name -> ``module:Class`` of a :class:`ddbkit.models.Model` its items must validate as
    models: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def for_host(cls, host: str, **kwargs: Any) -> ConsoleSettings:
        """Settings whose token is set (a fresh random one) exactly when ``host`` is not a loopback address."""
        token = kwargs.pop("token", None)
        if token is None and not is_loopback_host(host):
            token = secrets.token_urlsafe(24)
        return cls(host=host, token=token, **kwargs)


def load_model(spec: str) -> type[Any]:
    """The model class named ``module:Class`` (a :class:`ConfigurationError` naming the spec otherwise)."""
    import importlib

    from ddbkit.errors import ConfigurationError

    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigurationError(f"model {spec!r}: give it as module:Class")
    try:
        model = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ConfigurationError(f"model {spec!r}: cannot import it ({type(err).__name__}: {err})") from None
    if not isinstance(model, type) or not hasattr(model, "__pydantic_validator__"):
        raise ConfigurationError(f"model {spec!r}: not a ddbkit.models.Model (or pydantic model) class")
    return model


@dataclass(frozen=True)
class ComponentRef:
    """Where a table is defined: the file, the component and its compliance tier."""

    file: str
    component: str
    tier: str
    config: TableConfig
    loaded: ComponentFile


@dataclass
class UsageRecord:
    """Consumed units per period of the console's own requests, as CloudWatch series keys
    (``(metric, index or None, None)``) so :func:`ddbkit.ops.capacity.build_report` reads them unchanged."""

    period: int = LOCAL_PERIOD
    points: dict[tuple[str, str | None, str | None], dict[datetime, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float)))

    def add(self, delta: UsageSnapshot, table: str, when: float) -> None:
        epoch = int(when)
        start = datetime.fromtimestamp(epoch - epoch % self.period, tz=timezone.utc)
        indexed_read = indexed_write = 0.0
        for resource, units in delta.by_resource.items():
            owner, sep, index = resource.partition("/index/")
            if sep and owner == table:
                self.points[("ConsumedReadCapacityUnits", index, None)][start] += units.get("read", 0.0)
                self.points[("ConsumedWriteCapacityUnits", index, None)][start] += units.get("write", 0.0)
                indexed_read += units.get("read", 0.0)
                indexed_write += units.get("write", 0.0)
        table_units = delta.by_resource.get(table)
        read = table_units.get("read", 0.0) if table_units else delta.read_units - indexed_read
        write = table_units.get("write", 0.0) if table_units else delta.write_units - indexed_write
        self.points[("ConsumedReadCapacityUnits", None, None)][start] += read
        self.points[("ConsumedWriteCapacityUnits", None, None)][start] += write


class ConsoleState:
    """Clients, tables and files of one console. Thread-safe: Starlette runs sync routes on threads."""

    def __init__(self, settings: ConsoleSettings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.csrf_secret = secrets.token_bytes(32)
        self._clock = clock
        self._lock = threading.Lock()
        self._tables: dict[str, Any] = {}
        self._usage_seen: dict[str, UsageSnapshot] = {}
        self._records: dict[str, UsageRecord] = {}
        self._clients: dict[str, Any] = {}
        self.components: dict[str, ComponentRef] = {}
        self.files: list[ComponentFile] = []
        for path in settings.files:
            self._add_file(path)
        self.models: dict[str, type[Any]] = {}
        for target, spec in settings.models.items():
            table_name = next((n for n, ref in self.components.items() if ref.component == target), target)
            self.models[table_name] = load_model(spec)
        try:  # encrypted cursors when the crypto extra is there (the page URL then never shows a key)
            import cryptography  # noqa: F401

            self.cursor_secret: bytes | None = secrets.token_bytes(32)
        except ImportError:
            self.cursor_secret = None

    def _add_file(self, path: str) -> None:
        from ddbkit_infra.compliance import resolve

        loaded = load_component_file(path)
        self.files.append(loaded)
        for name, cfg in loaded.tables.items():
            try:
                tier = resolve(cfg).framework.value
            except Exception:  # noqa: BLE001 - the tables page still shows the table; plan says why
                tier = (cfg.compliance_framework.value if cfg.compliance_framework else "commercial")
            self.components[cfg.table_name] = ComponentRef(path, name, tier, cfg, loaded)

    # -- safety ------------------------------------------------------------------------------------
    @property
    def on_aws(self) -> bool:
        """No endpoint, or one that is not on this machine: treat it as AWS."""
        return not is_loopback_endpoint(self.settings.endpoint_url)

    @property
    def writes_allowed(self) -> bool:
        """Local endpoints are writable; AWS only with ``--allow-writes``."""
        return self.settings.allow_writes or not self.on_aws

    # -- AWS side ----------------------------------------------------------------------------------
    @property
    def region(self) -> str:
        """The region rule of every command (``--region``, ``AWS_REGION``, ...); none is an error naming it."""
        from ddbkit.core.region import resolve_region
        from ddbkit.errors import NoRegionError

        found = resolve_region(self.settings.region, self.session)
        if not found:
            raise NoRegionError("no AWS region: pass --region REGION or set AWS_REGION")
        return found

    @property
    def session(self) -> Any:
        """The boto3 session of ``--profile`` (None: boto3's default chain)."""
        if self.settings.profile is None:
            return None
        with self._lock:
            if "session" not in self._clients:
                import boto3

                self._clients["session"] = boto3.Session(profile_name=self.settings.profile,
                                                         region_name=self.settings.region)
            return self._clients["session"]

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` at the console's endpoint (few retries against a local one)."""
        region, session = self.region, self.session
        with self._lock:
            if service not in self._clients:
                import boto3
                from botocore.config import Config

                config = Config(retries={"total_max_attempts": 2, "mode": "standard"}) if not self.on_aws else None
                factory: Any = session or boto3  # boto3-stubs types client() per service literal
                self._clients[service] = factory.client(service, region_name=region,
                                                        endpoint_url=self.settings.endpoint_url, config=config)
            return self._clients[service]

    def aws_clients(self) -> Any:
        """:class:`ddbkit_infra.plan.AwsClients` for plan and audit."""
        from botocore.config import Config

        from ddbkit_infra.plan import AwsClients

        config = Config(retries={"total_max_attempts": 2, "mode": "standard"}) if not self.on_aws else None
        return AwsClients(self.region, endpoint_url=self.settings.endpoint_url, session=self.session, config=config)

    def table(self, name: str) -> Any:
        """The :class:`ddbkit.Table` for ``name`` (key schema from DescribeTable, per-index consumed units)."""
        with self._lock:
            table = self._tables.get(name)
        if table is not None:
            return table
        from ddbkit import Table

        table = Table(name, endpoint_url=self.settings.endpoint_url, region_name=self.region, session=self.session,
                      cursor_secret=self.cursor_secret, return_consumed_capacity="INDEXES", usage=Usage())
        table.key_schema  # noqa: B018 - DescribeTable now: an unknown table fails here, not mid-page
        with self._lock:
            self._tables.setdefault(name, table)
            self._usage_seen.setdefault(name, table.usage)
            return self._tables[name]

    def table_names(self) -> list[str]:
        """Tables on the endpoint and in the files, sorted (a file's table may not exist yet)."""
        names: set[str] = set(self.components)
        client = self.client("dynamodb")
        for page in client.get_paginator("list_tables").paginate():
            names.update(page.get("TableNames", []))
        return sorted(names)

    # -- capacity ----------------------------------------------------------------------------------
    def record_usage(self, name: str) -> None:
        """Add what table ``name`` consumed since the last call to the current period."""
        table = self.table(name)
        now = table.usage
        with self._lock:
            before = self._usage_seen.get(name, UsageSnapshot())
            self._usage_seen[name] = now
            self._records.setdefault(name, UsageRecord()).add(usage_delta(before, now), name, self._clock())

    def add_units(self, name: str, read: float, write: float) -> None:
        """Add units consumed outside the table object (PartiQL through the boto3 client)."""
        with self._lock:
            self._records.setdefault(name, UsageRecord()).add(
                UsageSnapshot(read_units=read, write_units=write), name, self._clock())

    def local_capacity(self, name: str, description: Mapping[str, Any]) -> CapacityReport:
        """The capacity report over the last :data:`LOCAL_WINDOW` from the console's own requests."""
        with self._lock:
            record = self._records.get(name) or UsageRecord()
            points = {k: dict(v) for k, v in record.points.items()}
        epoch = int(self._clock())
        end = datetime.fromtimestamp(epoch - epoch % LOCAL_PERIOD + LOCAL_PERIOD, tz=timezone.utc)
        start = datetime.fromtimestamp(end.timestamp() - LOCAL_WINDOW, tz=timezone.utc)
        return build_report(name, description, points, start=start, end=end, period=LOCAL_PERIOD)
