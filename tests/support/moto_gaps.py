"""What moto 5.2 lacks for provisioning, emulated in front of it (shared by the plan/apply and audit tests)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from ddbkit.config import parse_table_config
from ddbkit_infra.apply import apply_plan
from ddbkit_infra.compliance import EffectiveConfig, resolve
from ddbkit_infra.plan import (
    AwsClients,
    Plan,
    make_plan,
)

REGION = "us-east-1"

# ==================================================================================================
# What moto lacks, emulated in front of it
# ==================================================================================================


class MotoGaps:
    """Emulates, in front of moto 5.2, the operations moto lacks, so whole examples apply end to end.

    moto lacks: DescribeContributorInsights / UpdateContributorInsights; global table replicas (it accepts
    UpdateTable ReplicaUpdates but creates nothing, so DescribeTable never lists a replica); AWS Backup
    CreateBackupSelection / ListBackupSelections / GetBackupSelection / DeleteBackupSelection /
    UpdateBackupPlan; DAX subnet and parameter groups; resource policies on streams (PutResourcePolicy /
    GetResourcePolicy with a stream ARN; moto serves table ARNs). Each is answered here from a small in-memory
    state through botocore's ``before-call`` event (the mechanism botocore's Stubber uses); a replica is
    made real by creating the table in the replica region on moto, so that region's PITR, tags and
    deletion protection go through moto itself. Everything else reaches moto untouched.
    ``calls`` records every emulated operation so tests can tell what moto did not serve.
    """

    def __init__(self, endpoint_url: str | None = None) -> None:
        self.endpoint_url = endpoint_url
        self.calls: list[str] = []
        self.insights: dict[tuple[str, str, str | None], str] = {}
        self.replicas: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self.selections: dict[str, dict[str, dict[str, Any]]] = {}
        self.plan_rules: dict[str, list[dict[str, Any]]] = {}
        self.subnet_groups: dict[str, dict[str, Any]] = {}
        self.parameter_groups: dict[str, dict[str, Any]] = {}
        self.stream_policies: dict[str, str] = {}  # stream ARN -> policy JSON (moto lacks stream policies)
        # one session: botocore then loads each service model once, not once per AwsClients
        self.session = boto3.Session(region_name=REGION, aws_access_key_id="testing",
                                     aws_secret_access_key="testing")

    # -- plumbing ------------------------------------------------------------------------------
    def install(self, client: Any, service: str, region: str) -> None:
        """Hook into ``client`` (the AwsClients ``customize`` callback)."""
        events = client.meta.events
        sid = client.meta.service_model.service_id.hyphenize()
        events.register(f"before-parameter-build.{sid}", self._remember)
        handlers: dict[str, Callable[[str, dict[str, Any]], Any]] = {}
        if service == "dynamodb":
            handlers = {"DescribeContributorInsights": self._describe_ci, "UpdateContributorInsights": self._update_ci}
            events.register(f"after-call.{sid}.UpdateTable", functools.partial(self._after_update_table, region))
            events.register(f"after-call.{sid}.DescribeTable", functools.partial(self._after_describe, region))
            for op in ("PutResourcePolicy", "GetResourcePolicy"):
                events.register(f"before-call.{sid}.{op}", functools.partial(self._stream_policy, op))
        elif service == "backup":
            handlers = {"CreateBackupSelection": self._create_selection, "ListBackupSelections": self._list_selections,
                        "GetBackupSelection": self._get_selection, "DeleteBackupSelection": self._delete_selection,
                        "UpdateBackupPlan": self._update_plan}
            events.register(f"after-call.{sid}.GetBackupPlan", self._after_get_plan)
        elif service == "dax":
            handlers = {"CreateSubnetGroup": self._create_subnet_group,
                        "DescribeSubnetGroups": self._describe_subnet_groups,
                        "UpdateSubnetGroup": self._create_subnet_group,
                        "CreateParameterGroup": self._create_parameter_group,
                        "DescribeParameterGroups": self._describe_parameter_groups}
        for op, fn in handlers.items():
            events.register(f"before-call.{sid}.{op}", functools.partial(self._answer, op, fn, region))

    def _stream_policy(self, op: str, context: dict[str, Any], **_: Any) -> Any:
        """moto 5.2 implements resource policies on tables but reads a stream ARN's last segment as a table
        name: stream resource policies are kept here (table ARNs still go to moto)."""
        params = context.get("gaps_params", {})
        arn = params.get("ResourceArn", "")
        if "/stream/" not in arn:
            return None
        self.calls.append(op)
        if op == "PutResourcePolicy":
            self.stream_policies[arn] = params["Policy"]
            body: dict[str, Any] = {"RevisionId": str(len(self.stream_policies))}
        elif arn in self.stream_policies:
            body = {"Policy": self.stream_policies[arn], "RevisionId": "1"}
        else:
            return AWSResponse("https://moto-gaps", 400, {}, None), {
                "Error": {"Code": "PolicyNotFoundException", "Message": "no policy"},
                "ResponseMetadata": {"HTTPStatusCode": 400}}
        return AWSResponse("https://moto-gaps", 200, {}, None), {**body, "ResponseMetadata": {"HTTPStatusCode": 200}}

    @staticmethod
    def _remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["gaps_params"] = dict(params)

    def _answer(self, op: str, fn: Callable[[str, dict[str, Any]], Any], region: str, context: dict[str, Any],
                **_: Any) -> Any:
        self.calls.append(op)
        out = fn(region, context.get("gaps_params", {}))
        if isinstance(out, tuple):  # (error code, message)
            return AWSResponse("https://moto-gaps", 400, {}, None), {
                "Error": {"Code": out[0], "Message": out[1]}, "ResponseMetadata": {"HTTPStatusCode": 400}}
        return AWSResponse("https://moto-gaps", 200, {}, None), {**out, "ResponseMetadata": {"HTTPStatusCode": 200}}

    def raw_client(self, service: str, region: str = REGION) -> Any:
        """A client without the emulator (what moto itself holds)."""
        kwargs: dict[str, Any] = {"region_name": region}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        return self.session.client(service, **kwargs)

    def clients(self, region: str = REGION) -> AwsClients:
        return AwsClients(region, endpoint_url=self.endpoint_url, customize=self.install, session=self.session)

    # -- contributor insights ----------------------------------------------------------------------
    def _describe_ci(self, region: str, p: dict[str, Any]) -> Any:
        status = self.insights.get((region, p["TableName"], p.get("IndexName")), "DISABLED")
        return {"TableName": p["TableName"], "ContributorInsightsStatus": status}

    def _update_ci(self, region: str, p: dict[str, Any]) -> Any:
        status = "ENABLED" if p["ContributorInsightsAction"] == "ENABLE" else "DISABLED"
        self.insights[(region, p["TableName"], p.get("IndexName"))] = status
        return {"TableName": p["TableName"], "ContributorInsightsStatus": status}

    # -- replicas --------------------------------------------------------------------------------------
    def _after_update_table(self, region: str, context: dict[str, Any], **_: Any) -> None:
        p = context.get("gaps_params", {})
        for upd in p.get("ReplicaUpdates", []):
            self.calls.append("UpdateTable.ReplicaUpdates")
            reps = self.replicas.setdefault((region, p["TableName"]), {})
            if "Create" in upd:
                c = upd["Create"]
                reps[c["RegionName"]] = {"RegionName": c["RegionName"], "ReplicaStatus": "ACTIVE",
                                         **({"KMSMasterKeyId": c["KMSMasterKeyId"]} if "KMSMasterKeyId" in c else {})}
                self._create_replica_table(region, p["TableName"], c)
            elif "Update" in upd:
                u = upd["Update"]
                reps[u["RegionName"]].update({k: v for k, v in u.items() if k == "KMSMasterKeyId"})
            elif "Delete" in upd:
                gone = upd["Delete"]["RegionName"]
                reps.pop(gone, None)
                self.raw_client("dynamodb", gone).delete_table(TableName=p["TableName"])

    def _create_replica_table(self, home: str, table: str, create: dict[str, Any]) -> None:
        desc = self.raw_client("dynamodb", home).describe_table(TableName=table)["Table"]
        mode = desc.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
        req: dict[str, Any] = {"TableName": table, "AttributeDefinitions": desc["AttributeDefinitions"],
                               "KeySchema": desc["KeySchema"], "BillingMode": mode,
                               "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
        units = ("ReadCapacityUnits", "WriteCapacityUnits")
        if mode == "PROVISIONED":
            req["ProvisionedThroughput"] = {k: desc["ProvisionedThroughput"][k] for k in units}
        gsis = []
        for g in desc.get("GlobalSecondaryIndexes", []) or []:
            gi = {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"]}
            if mode == "PROVISIONED":
                gi["ProvisionedThroughput"] = {k: g["ProvisionedThroughput"][k] for k in units}
            gsis.append(gi)
        if gsis:
            req["GlobalSecondaryIndexes"] = gsis
        if "KMSMasterKeyId" in create:
            req["SSESpecification"] = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": create["KMSMasterKeyId"]}
        self.raw_client("dynamodb", create["RegionName"]).create_table(**req)

    def _after_describe(self, region: str, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        reps = self.replicas.get((region, context.get("gaps_params", {}).get("TableName", "")))
        if reps and "Table" in parsed:
            parsed["Table"]["Replicas"] = [dict(r) for r in reps.values()]

    # -- AWS Backup ------------------------------------------------------------------------------------
    def _create_selection(self, region: str, p: dict[str, Any]) -> Any:
        sel_id = f"sel-{len(self.calls)}"
        self.selections.setdefault(p["BackupPlanId"], {})[sel_id] = dict(p["BackupSelection"])
        return {"SelectionId": sel_id, "BackupPlanId": p["BackupPlanId"]}

    def _list_selections(self, region: str, p: dict[str, Any]) -> Any:
        sels = self.selections.get(p["BackupPlanId"], {})
        return {"BackupSelectionsList": [{"SelectionId": i, "SelectionName": s["SelectionName"],
                                          "BackupPlanId": p["BackupPlanId"], "IamRoleArn": s["IamRoleArn"]}
                                         for i, s in sels.items()]}

    def _get_selection(self, region: str, p: dict[str, Any]) -> Any:
        sel = self.selections.get(p["BackupPlanId"], {}).get(p["SelectionId"])
        if sel is None:
            return ("ResourceNotFoundException", "no such selection")
        return {"BackupSelection": sel, "SelectionId": p["SelectionId"], "BackupPlanId": p["BackupPlanId"]}

    def _delete_selection(self, region: str, p: dict[str, Any]) -> Any:
        self.selections.get(p["BackupPlanId"], {}).pop(p["SelectionId"], None)
        return {}

    def _update_plan(self, region: str, p: dict[str, Any]) -> Any:
        self.plan_rules[p["BackupPlanId"]] = [dict(r) for r in p["BackupPlan"]["Rules"]]
        return {"BackupPlanId": p["BackupPlanId"]}

    def _after_get_plan(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        rules = self.plan_rules.get(context.get("gaps_params", {}).get("BackupPlanId", ""))
        if rules is not None:
            parsed["BackupPlan"]["Rules"] = rules

    # -- DAX groups ------------------------------------------------------------------------------------
    def _create_subnet_group(self, region: str, p: dict[str, Any]) -> Any:
        group = {"SubnetGroupName": p["SubnetGroupName"],
                 "Subnets": [{"SubnetIdentifier": s} for s in p["SubnetIds"]]}
        self.subnet_groups[p["SubnetGroupName"]] = group
        return {"SubnetGroup": group}

    def _describe_subnet_groups(self, region: str, p: dict[str, Any]) -> Any:
        names = p.get("SubnetGroupNames") or list(self.subnet_groups)
        missing = [n for n in names if n not in self.subnet_groups]
        if missing:
            return ("SubnetGroupNotFoundFault", f"{missing[0]} not found")
        return {"SubnetGroups": [self.subnet_groups[n] for n in names]}

    def _create_parameter_group(self, region: str, p: dict[str, Any]) -> Any:
        group = {"ParameterGroupName": p["ParameterGroupName"], "Description": p.get("Description", "")}
        self.parameter_groups[p["ParameterGroupName"]] = group
        return {"ParameterGroup": group}

    def _describe_parameter_groups(self, region: str, p: dict[str, Any]) -> Any:
        names = p.get("ParameterGroupNames") or list(self.parameter_groups)
        missing = [n for n in names if n not in self.parameter_groups]
        if missing:
            return ("ParameterGroupNotFoundFault", f"{missing[0]} not found")
        return {"ParameterGroups": [self.parameter_groups[n] for n in names]}




def effective(data: dict[str, Any], tier: str | None = None) -> EffectiveConfig:
    return resolve(parse_table_config(data), tier)


def run(eff: EffectiveConfig, gaps: MotoGaps) -> Plan:
    """Plan, apply, and return the plan that was applied."""
    clients = gaps.clients()
    plan = make_plan(eff, clients)
    apply_plan(plan, clients, poll=0, rich=False)
    return plan
