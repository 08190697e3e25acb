"""What a plan's changes do to a live table, said plainly before ``apply`` asks to go on.

* destructive: data or a resource is deleted (an index, a replica with its data, alarms, the table);
* disruptive: the table keeps its data but something stops working for a while (an index being
  rebuilt is unusable until it backfills; a stream switched off and on loses readers' positions).

A change DynamoDB cannot make in place on the table itself (key schema, key attribute type, LSIs) is
refused by the plan; :func:`replaceable` says whether replacing the table (delete + create, every item
lost) would make it, which ``apply --replace-table`` does only when asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ddbkit_infra.plan import Action, Plan

__all__ = ["Risk", "assess", "replaceable"]


@dataclass(frozen=True)
class Risk:
    kind: Literal["destructive", "disruptive"]
    text: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.text}"


def assess(plan: Plan) -> list[Risk]:
    """Every destructive or disruptive effect of ``plan``'s pending changes."""
    out: list[Risk] = []
    for change in plan.pending:
        if change.action is Action.DELETE:
            out.append(Risk("destructive", f"deletes {change.label}"))
            continue
        for f in change.fields:
            path = f.path
            if path.startswith("GlobalSecondaryIndexes.") and path.count(".") == 1:
                index = path.split(".", 1)[1]
                if f.new == "rebuilt":
                    out.append(Risk("disruptive", f"index {index} of {plan.table} is deleted and rebuilt (key or "
                                                  "projection change): queries on it fail until the new index "
                                                  "finishes backfilling"))
                elif f.new is None and f.old is not None:
                    out.append(Risk("destructive", f"index {index} of {plan.table} is deleted: queries on it fail "
                                                   "from now on"))
                elif f.old is None and not _rebuilt(plan, index):
                    out.append(Risk("disruptive", f"index {index} of {plan.table} is created: it cannot be queried "
                                                  "until it finishes backfilling"))
            elif path == "StreamSpecification":
                old = f.old if isinstance(f.old, dict) else {}
                new = f.new if isinstance(f.new, dict) else {}
                if old.get("StreamEnabled") and new.get("StreamEnabled"):
                    out.append(Risk("disruptive", f"the stream of {plan.table} is switched off and on (view type "
                                                  "change): a new stream ARN; readers must move to it"))
                elif old.get("StreamEnabled"):
                    out.append(Risk("disruptive", f"the stream of {plan.table} is switched off: its consumers stop"))
    return out


def _rebuilt(plan: Plan, index: str) -> bool:
    return any(f.path == f"GlobalSecondaryIndexes.{index}" and f.new == "rebuilt"
               for c in plan.pending for f in c.fields)


def replaceable(plan: Plan) -> bool:
    """True when every refusal is on the table itself (key schema, key types, LSIs): a new table makes it."""
    refused = plan.refused
    return bool(refused) and all(c.resource == "dynamodb:table" for c in refused)
