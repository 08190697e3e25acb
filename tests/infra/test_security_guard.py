"""AWS's own Guard rules on every example x tier template: FedRAMP-Moderate and NIST 800-53 rev5 from
aws-guard-rules-registry 1.0.2, plus ddbkit's per-replica checks for global tables (tests/fixtures/guard).

cfn-guard 3.1.1 is the binary the npm package ``@cdklabs/cdk-validator-cfnguard@0.0.62`` ships, installed
under ``.local/cfnguard`` by ``make cfnguard`` (a dependency of ``make test``). One cfn-guard run covers
every template and rule set (~8 s).
"""

from __future__ import annotations

import copy
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import pytest
from test_cloudformation import CASES, effective

from ddbkit_infra.synth.cloudformation import render, synthesize

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "tests" / "fixtures" / "guard"
REGISTRY_SETS = ("fedramp-moderate.guard", "nist800-53rev5.guard")
OWN = "ddbkit-global-table.guard"
ARCH = {"x86_64": "x86_64", "AMD64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(platform.machine(), "")
GUARD = Path(os.environ.get("DDBKIT_CFN_GUARD") or ROOT / ".local/cfnguard/node_modules/@cdklabs/cdk-validator-cfnguard"
             f"/bin/ubuntu/{ARCH}/cfn-guard")

pytestmark = pytest.mark.skipif(not GUARD.exists(), reason=f"cfn-guard not installed at {GUARD}: run `make cfnguard`")


def _validate(rules: list[Path], data: list[Path]) -> list[dict[str, Any]]:
    args = [str(GUARD), "validate", "--show-summary", "none", "-o", "json"]
    for r in rules:
        args += ["-r", str(r)]
    for d in data:
        args += ["-d", str(d)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 19), proc.stderr  # 19: some rule failed
    out, dec, i = [], json.JSONDecoder(), 0
    text = proc.stdout
    while i < len(text):
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        doc, i = dec.raw_decode(text, i)
        out += doc if isinstance(doc, list) else [doc]
    return out


def _rules(doc: dict[str, Any], key: str) -> set[str]:
    return {(r["Rule"]["name"] if isinstance(r, dict) and "Rule" in r else str(r)) for r in doc.get(key, [])}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    d = tmp_path_factory.mktemp("guard")
    files = []
    for name, data, tier in CASES:
        path = d / f"{name}.yaml"
        path.write_text(render(synthesize(effective(data, tier)), "yaml"))
        files.append(path)
    by_file: dict[str, list[dict[str, Any]]] = {}
    for doc in _validate([RULES / s for s in REGISTRY_SETS] + [RULES / OWN], files):
        by_file.setdefault(Path(doc["name"]).stem, []).append(doc)
    return by_file


def test_every_fedramp_template_passes_fedramp_moderate_nist_and_replica_checks(
        reports: dict[str, list[dict[str, Any]]]) -> None:
    fedramp = [n for n, _d, t in CASES if t != "commercial"]
    assert len(fedramp) >= 8 and set(fedramp) <= set(reports)
    failures = {n: sorted(set().union(*(_rules(doc, "not_compliant") for doc in reports[n]))) for n in fedramp}
    assert {n: f for n, f in failures.items() if f} == {}
    passed = {n: set().union(*(_rules(doc, "compliant") for doc in reports[n])) for n in fedramp}
    # the issue's findings really ran where they apply (no vacuous pass)
    assert all("CLOUDWATCH_ALARM_ACTION_CHECK" in passed[n] for n in fedramp)
    assert {"IAM_NO_INLINE_POLICY_CHECK"} <= passed["dax-fedramp-moderate"] & passed["dax-fedramp-high"]
    assert "DYNAMODB_PITR_ENABLED" in passed["session-store-fedramp-moderate"]
    assert {"DDBKIT_GLOBAL_TABLE_REPLICA_PITR", "DDBKIT_GLOBAL_TABLE_REPLICA_KMS"} <= \
        passed["global-leaderboard-fedramp-high"]


TRAIL_RULES = "ddbkit-trail.guard"


def test_fedramp_trails_are_multi_region_and_the_rule_fires_on_a_single_region_one(tmp_path: Path) -> None:
    """MULTI_REGION_CLOUD_TRAIL_ENABLED (ddbkit-trail.guard): no longer suppressed or failing at the fedramp
    tiers; a single-region trail fails it (negative control)."""
    files = []
    for name, data, tier in CASES:
        if tier == "commercial":
            continue
        template = synthesize(effective(data, tier))
        trail = template["Resources"].get("AuditTrail")
        if trail is None:
            continue
        assert "MULTI_REGION_CLOUD_TRAIL_ENABLED" not in trail["Metadata"]["guard"]["SuppressedRules"]
        path = tmp_path / f"{name}.yaml"
        path.write_text(render(template))
        files.append(path)
    bad = synthesize(effective(next(d for n, d, t in CASES if t == "fedramp-moderate"), "fedramp-moderate"))
    bad["Resources"]["AuditTrail"]["Properties"]["IsMultiRegionTrail"] = False
    (tmp_path / "single.yaml").write_text(render(bad))
    assert len(files) >= 8
    docs = _validate([RULES / TRAIL_RULES], [*files, tmp_path / "single.yaml"])
    verdict = {Path(d["name"]).stem: (_rules(d, "compliant"), _rules(d, "not_compliant")) for d in docs}
    for f in files:
        assert verdict[f.stem] == ({"DDBKIT_TRAIL_MULTI_REGION"}, set()), f.stem
    assert verdict["single"][1] == {"DDBKIT_TRAIL_MULTI_REGION"}


def test_guard_catches_what_the_issue_found(tmp_path: Path) -> None:
    """Negative controls: alarms without actions, an inline DAX policy, a replica without PITR or KMS fail."""
    dax = next(d for n, d, t in CASES if n == "dax-fedramp-moderate")
    bad = synthesize(effective(dax, "fedramp-moderate"))
    res = bad["Resources"]
    for r in res.values():
        if r["Type"] == "AWS::CloudWatch::Alarm":
            r["Properties"].pop("AlarmActions", None)
            r["Properties"].pop("OKActions", None)
    res["DaxRole"]["Properties"]["Policies"] = [{"PolicyName": "inline",
                                                 "PolicyDocument": res["DaxPolicy"]["Properties"]["PolicyDocument"]}]
    (tmp_path / "dax.yaml").write_text(render(bad))
    glob = next(d for n, d, t in CASES if n == "global-leaderboard-fedramp-high")
    gt = synthesize(effective(glob, "fedramp-high"))
    replicas = gt["Resources"]["Table"]["Properties"]["Replicas"]
    replicas[1]["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": False}
    replicas[2] = copy.deepcopy(replicas[2])
    replicas[2]["SSESpecification"] = {}
    (tmp_path / "global.yaml").write_text(render(gt))
    docs = _validate([RULES / s for s in REGISTRY_SETS] + [RULES / OWN], [tmp_path / "dax.yaml",
                                                                         tmp_path / "global.yaml"])
    failed = {Path(d["name"]).stem: set() for d in docs}
    for d in docs:
        failed[Path(d["name"]).stem] |= _rules(d, "not_compliant")
    assert {"CLOUDWATCH_ALARM_ACTION_CHECK", "IAM_NO_INLINE_POLICY_CHECK"} <= failed["dax"]
    assert {"DDBKIT_GLOBAL_TABLE_REPLICA_PITR", "DDBKIT_GLOBAL_TABLE_REPLICA_KMS"} <= failed["global"]
