"""Plan: read the live state (:mod:`.read`), diff it with the config (:mod:`.diff`), and what a plan is and how
it prints (:mod:`.model`); the security surroundings in :mod:`.security`. The names other packages use are
re-exported here: ``from ddbkit_infra.plan import make_plan, AwsClients``.
"""

from __future__ import annotations

from ddbkit_infra.plan.model import (
    Action,
    ApiCall,
    Change,
    DEFAULT_REGION,
    FieldChange,
    Plan,
    ProvisioningError,
    Ref,
    UNKNOWN,
    UnsupportedOperationError,
    Wait,
    error_code,
    not_checked,
    stream_policy_gap,
    emulator_gap,
    unsupported,
)
from ddbkit_infra.plan.read import (
    contributor_insights_status,
    AwsClients,
    GLOBAL_TABLES,
    LiveState,
    ReplicaState,
    pages,
    read_live_state,
    scaling_regions,
)
from ddbkit_infra.plan.diff import (
    diff,
    make_plan,
)

__all__ = [
    "contributor_insights_status",
    "Action",
    "ApiCall",
    "AwsClients",
    "Change",
    "DEFAULT_REGION",
    "FieldChange",
    "GLOBAL_TABLES",
    "LiveState",
    "Plan",
    "ProvisioningError",
    "Ref",
    "ReplicaState",
    "UNKNOWN",
    "UnsupportedOperationError",
    "Wait",
    "diff",
    "error_code",
    "make_plan",
    "not_checked",
    "pages",
    "read_live_state",
    "scaling_regions",
    "stream_policy_gap",
    "emulator_gap",
    "unsupported",
]
