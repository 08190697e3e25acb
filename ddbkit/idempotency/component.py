"""The idempotency table as a component (``idempotency-table.yaml`` next to this module).

Provisioning, binds and IAM are those of any ddbkit table: ``ddbkit validate/plan/apply/synth`` the file,
bind the functions that use it with ``access: read-write``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["component_path", "component_text", "load_component"]


def component_path() -> Path:
    """Where the packaged idempotency-table component file is."""
    return Path(__file__).with_name("idempotency-table.yaml")


def component_text(tier: str = "commercial", table_name: str = "Idempotency",
                   regions: list[str] | None = None, replica_kms_keys: dict[str, str] | None = None) -> str:
    """The component YAML for ``tier`` (``commercial``, ``fedramp-moderate``, ``fedramp-high``) naming the
    table ``table_name``; ``regions`` adds a global table (fedramp-high requires at least 2, each replica
    with a customer-managed key: ``replica_kms_keys`` maps a region to its key ARN)."""
    import yaml

    data: Any = yaml.safe_load(component_path().read_text(encoding="utf-8"))
    data["complianceFramework"] = tier
    config = data["components"][0]["config"]
    config["tableName"] = table_name
    if regions:
        config["globalTables"] = {"regions": list(regions)}
        if replica_kms_keys:
            config["globalTables"]["replicationGroup"] = [{"region": r, "kmsKeyId": k}
                                                          for r, k in replica_kms_keys.items()]
    return str(yaml.safe_dump(data, sort_keys=False))


def load_component(tier: str = "commercial", table_name: str = "Idempotency",
                   regions: list[str] | None = None, replica_kms_keys: dict[str, str] | None = None) -> Any:
    """The validated :class:`ddbkit.config.ComponentFile` of :func:`component_text` (tier defaults applied
    by ``resolve``: TTL on ``expiration``, encryption, PITR and deletion protection per tier)."""
    from ddbkit.config import load_component_text

    return load_component_text(component_text(tier, table_name, regions, replica_kms_keys),
                               f"<idempotency-table {tier}>")
