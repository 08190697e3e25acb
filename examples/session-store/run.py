"""Run the session-store example locally: provision, call the Lambda handler, process the stream.

    .venv/bin/python examples/session-store/run.py

Starts moto's server on a free port (no AWS account), applies component.yaml, sets the handler's
environment from ``ddbkit bind``'s output, and checks each step's result (exit 1 on a mismatch).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # Lambda puts the function's directory on sys.path; so do we


def main() -> None:
    from ddbkit import Table
    from ddbkit.config import load_component_file
    from ddbkit.streams.poller import StreamPoller
    from ddbkit_infra.demo import check, local_environment, provision
    from ddbkit_infra.iam.binds import arn_context, bind_outputs

    with local_environment() as endpoint:
        effs = provision(HERE / "component.yaml", endpoint_url=endpoint, echo=None)
        loaded = load_component_file(HERE / "component.yaml")
        env = bind_outputs(loaded, "session-manager", arn_context("000000000000", "us-east-1")).environment
        os.environ.update(env)
        check("bind gives SESSIONS_TABLE", env["SESSIONS_TABLE"] == effs["user-sessions"].config.table_name)

        import handler
        import processor

        created = [handler.handler({"action": "create", "userId": "alice"})["session"] for _ in range(3)]
        handler.handler({"action": "create", "userId": "bob"})
        check("create returns ACTIVE sessions", all(s["status"] == "ACTIVE" for s in created))
        got = handler.handler({"action": "get", "sessionId": created[0]["sessionId"]})
        check("get finds the session", got["statusCode"] == 200)
        page = handler.handler({"action": "list", "userId": "alice", "limit": 2})
        rest = handler.handler({"action": "list", "userId": "alice", "limit": 2, "cursor": page["cursor"]})
        check("list pages with a cursor", len(page["sessions"]) == 2 and len(rest["sessions"]) == 1)
        check("expire ends a session", handler.handler({"action": "expire", "sessionId": created[1]["sessionId"]})
              ["statusCode"] == 200)
        active = handler.handler({"action": "active", "userId": "alice"})["sessions"]
        check("active filter skips the ended one", len(active) == 2)

        # the stream-read binding: analytics aggregated per batch into a stats table
        import boto3

        boto3.client("dynamodb").create_table(
            TableName="SessionStats", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "userId", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "userId", "KeyType": "HASH"}])
        stats = Table("SessionStats", key="userId")
        poller = StreamPoller(processor.SessionAnalytics(stats), env["SESSIONS_TABLE"], start="trim-horizon")
        poller.run(timeout=60, idle_timeout=2)
        alice = stats.get({"userId": "alice"}) or {}
        check("stream analytics counted alice's sessions", alice.get("created") == 3 and alice.get("ended") == 1)

        # exactly once: with the idempotency table, a redelivery of every record counts nothing twice
        provision(HERE.parent / "idempotency" / "component.yaml", endpoint_url=endpoint, echo=None)
        os.environ["IDEMPOTENCY_TABLE"] = "Idempotency"
        idem = processor.SessionAnalytics(stats.once)  # exactly-once counter updates too
        for _ in range(2):  # the second pass from TRIM_HORIZON is a redelivery of every record
            StreamPoller(idem, env["SESSIONS_TABLE"], start="trim-horizon").run(timeout=60, idle_timeout=2)
        bob = stats.get({"userId": "bob"}) or {}
        check("a redelivered stream counts each session once (1 plain pass + 1 idempotent of 2 passes)",
              bob.get("created") == 2)
        print("session-store example: all checks passed")


if __name__ == "__main__":
    main()
