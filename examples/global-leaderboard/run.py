"""Run the global leaderboard example locally: provision (fedramp-high, replicas), submit scores, rank.

    .venv/bin/python examples/global-leaderboard/run.py

moto accepts the replica updates but creates no replica, so this runs the home region's table.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    from ddbkit.streams.poller import StreamPoller
    from ddbkit_infra.demo import check, local_environment, provision

    with local_environment() as endpoint:
        effs = provision(HERE / "component.yaml", endpoint_url=endpoint, echo=None)
        eff = effs["leaderboard"]
        check("fedramp-high resolved", eff.framework.value == "fedramp-high" and eff.config.pitr_enabled)
        os.environ["LEADERBOARD_TABLE"] = eff.config.table_name

        import handler
        import processor

        scores = {"ana": 120, "bo": 300, "cy": 90, "di": 300, "ed": 10}
        for player, score in scores.items():
            handler.submit("global", player, player.title(), score)
        check("a lower score does not replace the best", not handler.submit("global", "bo", "Bo", 5))
        check("a higher score does", handler.submit("global", "cy", "Cy", 500))
        top = handler.top("global", 3)
        check("top 3 by score", [t["player"] for t in top][:1] == ["cy"] and len(top) == 3)

        poller = StreamPoller(processor.RankUpdater(), eff.config.table_name, start="trim-horizon")
        poller.run(timeout=60, idle_timeout=2)
        snapshot = handler.table().get({"PK": "BOARD#global", "SK": "TOP10"}) or {}
        check("rank updater wrote the top-10 snapshot", [t["player"] for t in snapshot.get("top", [])][:1] == ["cy"])
        print("global-leaderboard example: all checks passed")


if __name__ == "__main__":
    main()
