"""Run the IoT time-series example locally: provision, ingest through the handler, query back.

    .venv/bin/python examples/iot-time-series/run.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    from ddbkit.config import load_component_file
    from ddbkit_infra.demo import check, local_environment, provision
    from ddbkit_infra.iam.binds import arn_context, bind_outputs

    with local_environment() as endpoint:
        provision(HERE / "component.yaml", endpoint_url=endpoint, echo=None)
        loaded = load_component_file(HERE / "component.yaml")
        os.environ.update(bind_outputs(loaded, "ingest", arn_context("000000000000", "us-east-1")).environment)

        import handler

        base = 1_790_000_000_000  # epoch ms
        readings = [{"deviceId": "turbine-7", "timestamp": base + i * 1000, "sensorType": "vibration",
                     "value": i % 17} for i in range(500)]
        readings += [{"deviceId": "meter-1", "timestamp": base + i * 60_000, "sensorType": "power", "kw": i}
                     for i in range(30)]
        check("ingest writes every reading", handler.handler({"readings": readings})["written"] == 530)
        window = handler.query_handler({"deviceId": "turbine-7", "from": base + 100_000, "to": base + 199_000})
        stamps = [r["timestamp"] for r in window["readings"]]
        check("range query merges shards in time order", stamps == [base + i * 1000 for i in range(100, 200)])
        latest = handler.query_handler({"deviceId": "turbine-7", "latest": 3})["readings"]
        check("latest 3 are the newest", [r["timestamp"] for r in latest] == [base + i * 1000 for i in (499, 498, 497)])
        power = handler.query_handler({"sensorType": "power", "from": base, "to": base + 10 * 60_000})
        check("GSI query by sensor type", len(power["readings"]) == 11)
        print("iot-time-series example: all checks passed")


if __name__ == "__main__":
    main()
