"""ddbkit.ops.backup: backups and pruning, restores, export/import, cross-region copy, the Lambda, the CLI.

Everything DynamoDB and S3 does runs on moto (in-process ``mock_aws``; one CLI test over moto's server).
moto has no AWS Backup recovery points or copy jobs, so the copy paths use botocore's Stubber; moto's
backups are AVAILABLE at once, so the polling paths (CREATING -> AVAILABLE, timeouts) use Stubber too.
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from click.testing import CliRunner
from moto import mock_aws

from ddbkit.ops.backup import (
    BackupError,
    BackupInfo,
    BackupJobSettings,
    BackupStepError,
    ExportResult,
    JobFailed,
    PitrNotEnabled,
    WaitOptions,
    WaitTimeout,
    backup_name,
    create_backup,
    export_cross_region,
    export_request,
    export_table,
    import_from_s3,
    import_table_parameters,
    lambda_handler,
    list_backups,
    plan_prune,
    prune_backups,
    restore_from_backup,
    restore_overrides,
    restore_to_point_in_time,
    run_backup_job,
    start_copy_job,
    wait_for_export,
    wait_for_table,
)
from ddbkit.errors import ClientValidationError
from ddbkit_infra.cli import cli

REGION = "us-east-1"
ACCOUNT = "123456789012"
FAST = WaitOptions(interval=0.0, timeout=5.0)
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Orders"
EXPORT_ARN = f"{TABLE_ARN}/export/01695353076000-06e2188f"


# --------------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        yield {"dynamodb": boto3.client("dynamodb", region_name=REGION), "s3": boto3.client("s3", region_name=REGION)}


def make_table(ddb: Any, name: str = "Orders", *, billing: str = "PROVISIONED", sse: bool = True,
               pitr: bool = False, items: int = 3) -> None:
    """A table with a GSI, an LSI and (optionally) KMS encryption and PITR, holding ``items`` items."""
    gsi: dict[str, Any] = {"IndexName": "ByUser", "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"}],
                           "Projection": {"ProjectionType": "ALL"}}
    extra: dict[str, Any] = {"BillingMode": billing}
    if billing == "PROVISIONED":
        gsi["ProvisionedThroughput"] = {"ReadCapacityUnits": 3, "WriteCapacityUnits": 2}
        extra["ProvisionedThroughput"] = {"ReadCapacityUnits": 7, "WriteCapacityUnits": 4}
    if sse:
        extra["SSESpecification"] = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": "alias/orders"}
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "user", "placed")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[gsi],
        LocalSecondaryIndexes=[{"IndexName": "ByPlaced", "Projection": {"ProjectionType": "KEYS_ONLY"},
                                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                              {"AttributeName": "placed", "KeyType": "RANGE"}]}],
        **extra)
    for i in range(items):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"c{i}"}, "sk": {"S": "order"}, "user": {"S": f"u{i % 2}"},
                                           "total": {"N": str(10 * i)}})
    if pitr:
        ddb.update_continuous_backups(TableName=name,
                                      PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})


def capture(client: Any, operation: str) -> list[dict[str, Any]]:
    """Every request ``client`` sends as ``operation`` (its parameters as the code built them)."""
    sent: list[dict[str, Any]] = []
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"provide-client-params.{service}.{operation}",
                                lambda params, **_: sent.append(dict(params)))
    return sent


def age_backups(days: float) -> None:
    """Make every backup in moto look ``days`` older (moto stamps them with the current time)."""
    from moto.dynamodb.models import dynamodb_backends

    for b in dynamodb_backends[ACCOUNT][REGION].backups.values():
        b.creation_date_time -= timedelta(days=days)


def info(name: str, days_ago: float, status: str = "AVAILABLE", *, now: datetime) -> BackupInfo:
    return BackupInfo(arn=f"{TABLE_ARN}/backup/{name}", name=name, table="Orders", status=status,
                      created=now - timedelta(days=days_ago))


def index_names(desc: dict[str, Any], kind: str) -> list[str]:
    return sorted(i["IndexName"] for i in desc.get(kind) or [])


def billing(desc: dict[str, Any]) -> str:
    return str((desc.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED")


# --------------------------------------------------------------------------------------------------
# Create / list / prune
# --------------------------------------------------------------------------------------------------


def test_backup_names_are_valid_backup_names() -> None:
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert backup_name("Orders", when) == "Orders-20250102T030405Z"
    # the spec's `${tableName}-${new Date().toISOString()}` has ':' and '.', which BackupName forbids
    assert not re.match(r"^[a-zA-Z0-9_.\-]+$", f"Orders-{when.isoformat()}")
    long = backup_name("T" * 255, when)
    assert len(long) == 255 and long.endswith("-20250102T030405Z")


def test_create_and_list_on_moto(aws: dict[str, Any]) -> None:
    ddb = aws["dynamodb"]
    make_table(ddb)
    b = create_backup(ddb, "Orders", now=datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc), wait=FAST)
    assert (b.name, b.status, b.table) == ("Orders-20250102T030405Z", "AVAILABLE", "Orders")
    time.sleep(0.01)  # moto stamps backups to the millisecond
    create_backup(ddb, "Orders", name="manual-one")
    listed = list_backups(ddb, "Orders")
    assert [x.name for x in listed] == ["Orders-20250102T030405Z", "manual-one"]  # oldest first
    assert listed[0].arn == b.arn and all(x.created.tzinfo is not None for x in listed)
    with pytest.raises(ClientValidationError, match="a-zA-Z0-9"):
        create_backup(ddb, "Orders", name="bad:name")


def test_create_waits_until_available() -> None:
    """moto's backups are AVAILABLE at once: Stubber plays CREATING, CREATING, AVAILABLE."""
    ddb = boto3.client("dynamodb", region_name=REGION)
    created = datetime(2025, 1, 1, tzinfo=timezone.utc)
    details = {"BackupArn": f"{TABLE_ARN}/backup/01", "BackupName": "b-1", "BackupStatus": "CREATING",
               "BackupType": "USER", "BackupCreationDateTime": created}
    polls: list[tuple[str, str]] = []
    with Stubber(ddb) as stub:
        stub.add_response("create_backup", {"BackupDetails": details}, {"TableName": "Orders", "BackupName": "b-1"})
        for status in ("CREATING", "AVAILABLE"):
            stub.add_response("describe_backup", {"BackupDescription": {"BackupDetails": {**details, "BackupStatus": status}}},
                              {"BackupArn": details["BackupArn"]})
        got = create_backup(ddb, "Orders", name="b-1",
                            wait=WaitOptions(interval=0, on_poll=lambda what, s, _: polls.append((what, s))))
        stub.assert_no_pending_responses()
    assert got.status == "AVAILABLE" and polls == [("backup b-1", "CREATING"), ("backup b-1", "AVAILABLE")]


def test_wait_gives_up_after_the_timeout_with_the_last_status() -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    clock = iter(range(0, 1000, 40))  # 40 s pass between clock readings
    slept: list[float] = []
    with Stubber(ddb) as stub:
        for _ in range(2):
            stub.add_response("describe_export", {"ExportDescription": {"ExportArn": EXPORT_ARN,
                                                                        "ExportStatus": "IN_PROGRESS"}})
        with pytest.raises(WaitTimeout, match="after 100 s.*IN_PROGRESS"):
            wait_for_export(ddb, EXPORT_ARN, WaitOptions(interval=30, timeout=100, sleep=slept.append,
                                                               clock=lambda: float(next(clock))))
        stub.assert_no_pending_responses()
    # polled at 40 s and 80 s; a third poll would come after the 100 s timeout, so it gives up instead
    assert slept == [30]


def test_wait_for_table_times_out_through_the_boto3_waiter() -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    with Stubber(ddb) as stub:
        for _ in range(2):
            stub.add_response("describe_table", {"Table": {"TableName": "New", "TableStatus": "CREATING"}})
        with pytest.raises(WaitTimeout, match="table New.*CREATING"):
            wait_for_table(ddb, "New", WaitOptions(interval=0, timeout=2))


def test_plan_prune_deletes_only_old_backups_with_a_newer_available_one() -> None:
    now = datetime(2025, 6, 1, tzinfo=timezone.utc)
    backups = [info("a", 40, now=now), info("b", 35, now=now), info("c", 20, now=now), info("d", 1, now=now)]
    plan = plan_prune(backups, retention_days=30, now=now)
    assert [b.name for b in plan.delete] == ["a", "b"] and plan.anchor is not None and plan.anchor.name == "d"
    assert plan.reasons[backups[2].arn] == "within 30 days"
    # keep_min protects the newest available ones even when they are old
    old = [info("a", 40, now=now), info("b", 35, now=now), info("c", 32, now=now)]
    assert [b.name for b in plan_prune(old, retention_days=30, now=now, keep_min=2).delete] == ["a"]
    # keep_min=0 still never deletes the newest available one: nothing newer is confirmed
    zero = plan_prune(old, retention_days=30, now=now, keep_min=0)
    assert [b.name for b in zero.delete] == ["a", "b"] and zero.reasons[old[2].arn] == "no newer available backup"


def test_plan_prune_keeps_everything_when_newer_backups_are_not_available() -> None:
    now = datetime(2025, 6, 1, tzinfo=timezone.utc)
    backups = [info("old", 60, now=now), info("new", 0.1, "CREATING", now=now), info("gone", 0.2, "DELETED", now=now)]
    plan = plan_prune(backups, retention_days=7, now=now, keep_min=0)
    assert plan.delete == () and plan.anchor is not None and plan.anchor.name == "old"
    assert plan.reasons[backups[0].arn] == "no newer available backup"
    assert plan.reasons[backups[1].arn] == "status CREATING"
    with pytest.raises(ClientValidationError):
        plan_prune(backups, retention_days=0, now=now)


def test_prune_on_moto_deletes_old_backups_and_keeps_the_newest(aws: dict[str, Any]) -> None:
    ddb = aws["dynamodb"]
    make_table(ddb)
    for i in range(3):
        create_backup(ddb, "Orders", name=f"b-{i}")
    age_backups(40)
    create_backup(ddb, "Orders", name="fresh")
    dry = prune_backups(ddb, "Orders", retention_days=30, dry_run=True)
    assert sorted(b.name for b in dry.deleted) == ["b-0", "b-1", "b-2"] and len(list_backups(ddb, "Orders")) == 4
    deletes = capture(ddb, "DeleteBackup")
    confirms = capture(ddb, "DescribeBackup")
    result = prune_backups(ddb, "Orders", retention_days=30)
    assert sorted(b.name for b in result.deleted) == ["b-0", "b-1", "b-2"] and not result.dry_run
    assert [b.name for b in list_backups(ddb, "Orders")] == ["fresh"]
    assert len(deletes) == 3 and confirms == [{"BackupArn": result.anchor.arn if result.anchor else None}]


def test_prune_deletes_nothing_when_the_newer_backup_cannot_be_confirmed() -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    now = datetime(2025, 6, 1, tzinfo=timezone.utc)
    summaries = [{"TableName": "Orders", "BackupArn": f"{TABLE_ARN}/backup/{n}", "BackupName": n,
                  "BackupStatus": "AVAILABLE", "BackupType": "USER",
                  "BackupCreationDateTime": now - timedelta(days=d)} for n, d in (("old", 50), ("new", 1))]
    with Stubber(ddb) as stub:
        stub.add_response("list_backups", {"BackupSummaries": summaries}, {"TableName": "Orders", "BackupType": "USER"})
        # between listing and deleting, the newer backup went away
        stub.add_response("describe_backup", {"BackupDescription": {"BackupDetails": {
            **{k: v for k, v in summaries[1].items() if k != "TableName"}, "BackupStatus": "DELETED"}}},
            {"BackupArn": f"{TABLE_ARN}/backup/new"})
        with pytest.raises(BackupError, match="could not be confirmed AVAILABLE.*no backup was deleted"):
            prune_backups(ddb, "Orders", retention_days=7, now=now)
        stub.assert_no_pending_responses()  # and no DeleteBackup was sent: Stubber would have raised


# --------------------------------------------------------------------------------------------------
# Restore
# --------------------------------------------------------------------------------------------------


def test_restore_from_backup_keeps_indexes_billing_and_encryption(aws: dict[str, Any]) -> None:
    ddb = aws["dynamodb"]
    make_table(ddb)
    b = create_backup(ddb, "Orders")
    sent = capture(ddb, "RestoreTableFromBackup")
    result = restore_from_backup(ddb, b.arn, "OrdersRestored", wait=FAST)
    req = sent[0]
    assert req["BackupArn"] == b.arn and req["BillingModeOverride"] == "PROVISIONED"
    assert req["ProvisionedThroughputOverride"] == {"ReadCapacityUnits": 7, "WriteCapacityUnits": 4}
    assert req["GlobalSecondaryIndexOverride"][0]["ProvisionedThroughput"] == {"ReadCapacityUnits": 3,
                                                                                "WriteCapacityUnits": 2}
    assert [i["IndexName"] for i in req["LocalSecondaryIndexOverride"]] == ["ByPlaced"]
    assert req["SSESpecificationOverride"] == {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": "alias/orders"}
    desc = ddb.describe_table(TableName="OrdersRestored")["Table"]
    assert result.status == "ACTIVE" and billing(desc) == "PROVISIONED"
    assert index_names(desc, "GlobalSecondaryIndexes") == ["ByUser"]
    assert index_names(desc, "LocalSecondaryIndexes") == ["ByPlaced"]
    assert desc["ProvisionedThroughput"]["ReadCapacityUnits"] == 7
    assert ddb.scan(TableName="OrdersRestored")["Count"] == 3


def test_restore_of_an_on_demand_table_ends_on_demand(aws: dict[str, Any]) -> None:
    """moto ignores BillingModeOverride (restores as PROVISIONED); the reconcile step puts it right."""
    ddb = aws["dynamodb"]
    make_table(ddb, billing="PAY_PER_REQUEST", sse=False)
    b = create_backup(ddb, "Orders")
    result = restore_from_backup(ddb, b.arn, "OrdersOnDemand", wait=FAST)
    assert result.overrides["BillingModeOverride"] == "PAY_PER_REQUEST"
    assert result.overrides["SSESpecificationOverride"] == {"Enabled": False}
    assert "GlobalSecondaryIndexOverride" in result.overrides
    assert "ProvisionedThroughput" not in result.overrides["GlobalSecondaryIndexOverride"][0]
    assert billing(ddb.describe_table(TableName="OrdersOnDemand")["Table"]) == "PAY_PER_REQUEST"
    assert not any("billing" in d for d in result.differences)


def test_restore_without_source_details_sends_no_guessed_overrides(aws: dict[str, Any]) -> None:
    """moto's DescribeBackup reports neither BillingMode nor features; with the source table deleted too,
    guessing (say, PROVISIONED and no encryption) could change the table: restore with the backup's own."""
    ddb = aws["dynamodb"]
    make_table(ddb, billing="PAY_PER_REQUEST")
    b = create_backup(ddb, "Orders")
    ddb.delete_table(TableName="Orders")
    sent = capture(ddb, "RestoreTableFromBackup")
    result = restore_from_backup(ddb, b.arn, "Orders", wait=FAST)
    assert sent == [{"TargetTableName": "Orders", "BackupArn": b.arn}]
    assert result.overrides == {} and result.reconciled == () and result.status == "ACTIVE"
    assert index_names(ddb.describe_table(TableName="Orders")["Table"], "GlobalSecondaryIndexes") == ["ByUser"]


def test_restore_refuses_a_backup_that_is_not_available() -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    with Stubber(ddb) as stub:
        stub.add_response("describe_backup", {"BackupDescription": {"BackupDetails": {
            "BackupArn": f"{TABLE_ARN}/backup/x", "BackupName": "xyz", "BackupStatus": "CREATING",
            "BackupType": "USER", "BackupCreationDateTime": datetime(2025, 1, 1)}}})
        with pytest.raises(BackupError, match="CREATING, not AVAILABLE"):
            restore_from_backup(ddb, f"{TABLE_ARN}/backup/x", "New")


def test_restore_overrides_from_an_aws_backup_description() -> None:
    """AWS splits a backup's source into SourceTableDetails and SourceTableFeatureDetails."""
    from ddbkit.ops.backup import _backup_source_description

    desc = _backup_source_description({
        "SourceTableDetails": {"TableName": "Orders", "BillingMode": "PAY_PER_REQUEST",
                               "ProvisionedThroughput": {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
                               "OnDemandThroughput": {"MaxReadRequestUnits": 500, "MaxWriteRequestUnits": -1}},
        "SourceTableFeatureDetails": {
            "GlobalSecondaryIndexes": [{"IndexName": "ByUser", "KeySchema": [{"AttributeName": "u", "KeyType": "HASH"}],
                                        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]}}],
            "SSEDescription": {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": "arn:aws:kms:k"}}})
    o = restore_overrides(desc)
    assert o["BillingModeOverride"] == "PAY_PER_REQUEST" and o["OnDemandThroughputOverride"] == {"MaxReadRequestUnits": 500}
    assert o["GlobalSecondaryIndexOverride"][0]["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]}
    assert o["SSESpecificationOverride"]["KMSMasterKeyId"] == "arn:aws:kms:k"
    assert "LocalSecondaryIndexOverride" not in o and "ProvisionedThroughputOverride" not in o


def test_point_in_time_restore_needs_pitr(aws: dict[str, Any]) -> None:
    ddb = aws["dynamodb"]
    make_table(ddb)
    with pytest.raises(PitrNotEnabled, match="point-in-time recovery is not enabled on table 'Orders'.*"
                                             "UpdateContinuousBackups"):
        restore_to_point_in_time(ddb, "Orders", "OrdersPitr")
    assert "OrdersPitr" not in ddb.list_tables()["TableNames"]


def test_point_in_time_restore_into_a_new_table(aws: dict[str, Any]) -> None:
    ddb = aws["dynamodb"]
    make_table(ddb, billing="PAY_PER_REQUEST", pitr=True)
    sent = capture(ddb, "RestoreTableToPointInTime")
    result = restore_to_point_in_time(ddb, "Orders", "OrdersPitr", wait=FAST)
    assert sent[0]["SourceTableName"] == "Orders" and sent[0]["UseLatestRestorableTime"] is True
    assert sent[0]["BillingModeOverride"] == "PAY_PER_REQUEST"
    desc = ddb.describe_table(TableName="OrdersPitr")["Table"]
    assert result.kind == "point-in-time" and billing(desc) == "PAY_PER_REQUEST"
    assert index_names(desc, "GlobalSecondaryIndexes") == ["ByUser"]
    assert index_names(desc, "LocalSecondaryIndexes") == ["ByPlaced"]
    assert ddb.scan(TableName="OrdersPitr")["Count"] == 3
    with pytest.raises(ClientValidationError, match="before the earliest restorable time"):
        restore_to_point_in_time(ddb, "Orders", "Other", restore_time=datetime(2000, 1, 1, tzinfo=timezone.utc))
    with pytest.raises(ClientValidationError, match="in the future"):
        restore_to_point_in_time(ddb, "Orders", "Other",
                                 restore_time=datetime.now(timezone.utc) + timedelta(hours=1))


# --------------------------------------------------------------------------------------------------
# Export / import
# --------------------------------------------------------------------------------------------------


def test_export_request_needs_the_table_arn_not_the_backup_arn() -> None:
    backup_arn = f"{TABLE_ARN}/backup/01695353076000-06e2188f"
    with pytest.raises(ClientValidationError, match="backup ARN.*TABLE ARN"):  # the spec's example's bug
        export_request(backup_arn, "bucket", prefix="exports/Orders")
    req = export_request(TABLE_ARN, "bucket", prefix="exports/Orders/", export_format="ION", bucket_owner="111122223333",
                         sse_algorithm="KMS", kms_key_id="arn:aws:kms:us-east-1:111122223333:key/k")
    assert req == {"TableArn": TABLE_ARN, "S3Bucket": "bucket", "S3Prefix": "exports/Orders", "ExportFormat": "ION",
                   "ExportType": "FULL_EXPORT", "S3SseAlgorithm": "KMS",
                   "S3SseKmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/k", "S3BucketOwner": "111122223333"}


def test_export_request_checks_incremental_windows_and_options() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    inc = export_request(TABLE_ARN, "b", prefix="p", export_type="INCREMENTAL_EXPORT", incremental_from=t0,
                         incremental_to=t0 + timedelta(hours=1), view_type="NEW_IMAGE")
    assert inc["IncrementalExportSpecification"] == {"ExportFromTime": t0, "ExportToTime": t0 + timedelta(hours=1),
                                                     "ExportViewType": "NEW_IMAGE"}
    bad: list[dict[str, Any]] = [
        {"export_type": "INCREMENTAL_EXPORT", "incremental_from": t0, "incremental_to": t0 + timedelta(minutes=10)},
        {"export_type": "INCREMENTAL_EXPORT", "incremental_from": t0, "incremental_to": t0 + timedelta(hours=25)},
        {"export_type": "INCREMENTAL_EXPORT", "incremental_from": t0},
        {"incremental_from": t0, "incremental_to": t0 + timedelta(hours=1)},
        {"export_format": "CSV"},
        {"kms_key_id": "k"},
        {"sse_algorithm": "DES"},
    ]
    for kwargs in bad:
        with pytest.raises(ClientValidationError):
            export_request(TABLE_ARN, "b", prefix="p", **kwargs)


def test_export_requires_pitr_before_calling_the_api(aws: dict[str, Any]) -> None:
    ddb = aws["dynamodb"]
    make_table(ddb)
    aws["s3"].create_bucket(Bucket="exports")
    sent = capture(ddb, "ExportTableToPointInTime")
    with pytest.raises(PitrNotEnabled, match="export to S3 needs it"):
        export_table(ddb, "Orders", "exports")
    assert sent == []


def test_export_to_moto_s3_and_import_into_a_new_table(aws: dict[str, Any]) -> None:
    ddb, s3 = aws["dynamodb"], aws["s3"]
    make_table(ddb, pitr=True)
    s3.create_bucket(Bucket="exports")
    sent = capture(ddb, "ExportTableToPointInTime")
    result = export_table(ddb, "Orders", "exports", wait=FAST)
    table_arn = ddb.describe_table(TableName="Orders")["Table"]["TableArn"]
    assert sent[0]["TableArn"] == table_arn and sent[0]["S3Prefix"] == "exports/Orders"
    assert (result.status, result.item_count, result.table_arn) == ("COMPLETED", 3, table_arn)
    assert result.manifest is None  # moto writes no manifest
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="exports")["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("exports/Orders/AWSDynamoDB/") and keys[0].endswith(".gz")
    lines = gzip.decompress(s3.get_object(Bucket="exports", Key=keys[0])["Body"].read()).decode().splitlines()
    assert sorted(json.loads(line)["Item"]["pk"]["S"] for line in lines) == ["c0", "c1", "c2"]

    source = ddb.describe_table(TableName="Orders")["Table"]
    imported = import_from_s3(ddb, "exports", result.data_prefix, import_table_parameters(source, "OrdersImported"),
                              wait=FAST)
    assert (imported.status, imported.imported_count, imported.table_name) == ("COMPLETED", 3, "OrdersImported")
    desc = ddb.describe_table(TableName="OrdersImported")["Table"]
    assert index_names(desc, "GlobalSecondaryIndexes") == ["ByUser"]
    assert ddb.get_item(TableName="OrdersImported", Key={"pk": {"S": "c2"}, "sk": {"S": "order"}})["Item"]["total"] == {"N": "20"}


def test_export_in_ion_and_a_failed_export(aws: dict[str, Any]) -> None:
    ddb = aws["dynamodb"]
    make_table(ddb, pitr=True)
    aws["s3"].create_bucket(Bucket="exports")
    ion = export_table(ddb, "Orders", "exports", prefix="ion", export_format="ION", wait=FAST)
    assert (ion.export_format, ion.status, ion.prefix) == ("ION", "COMPLETED", "ion")
    with pytest.raises(JobFailed, match="S3NoSuchBucket"):
        export_table(ddb, "Orders", "no-such-bucket", wait=FAST)


def test_export_result_reports_the_manifest_aws_writes() -> None:
    arn = f"{TABLE_ARN}/export/01695353076000-06e2188f"
    given = ExportResult.from_description({"ExportArn": arn, "ExportStatus": "COMPLETED", "S3Bucket": "b",
                                           "S3Prefix": "exports/Orders", "ItemCount": 9,
                                           "ExportManifest": "exports/Orders/AWSDynamoDB/01695353076000-06e2188f/manifest-summary.json"})
    assert given.manifest_url == "s3://b/exports/Orders/AWSDynamoDB/01695353076000-06e2188f/manifest-summary.json"
    assert given.data_prefix == "exports/Orders/AWSDynamoDB/01695353076000-06e2188f/data/"
    derived = ExportResult.from_description({"ExportArn": arn, "ExportStatus": "IN_PROGRESS", "S3Bucket": "b",
                                             "S3Prefix": "exports/Orders"})
    assert derived.manifest == given.manifest


def test_import_parameters_leave_out_lsi_only_attributes() -> None:
    source = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
              "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "user", "placed")],
              "BillingModeSummary": {"BillingMode": "PROVISIONED"},
              "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
              "GlobalSecondaryIndexes": [{"IndexName": "ByUser", "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"}],
                                          "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}],
              "LocalSecondaryIndexes": [{"IndexName": "ByPlaced"}]}
    params = import_table_parameters(source, "New")
    assert [a["AttributeName"] for a in params["AttributeDefinitions"]] == ["pk", "user"]
    assert params["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"] == {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
    assert params["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    assert "LocalSecondaryIndexes" not in params and "SSESpecification" not in params


def test_cross_region_export_checks_the_bucket_region(aws: dict[str, Any]) -> None:
    ddb, s3 = aws["dynamodb"], aws["s3"]
    make_table(ddb, pitr=True)
    s3.create_bucket(Bucket="dr-exports", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    result = export_cross_region(ddb, "Orders", "dr-exports", bucket_region="us-west-2", s3=s3, wait=FAST)
    assert (result.bucket, result.bucket_region, result.status) == ("dr-exports", "us-west-2", "COMPLETED")
    with pytest.raises(BackupError, match="is in us-west-2, not eu-west-1"):
        export_cross_region(ddb, "Orders", "dr-exports", bucket_region="eu-west-1", s3=s3)
    with pytest.raises(ClientValidationError, match="table's own region"):
        export_cross_region(ddb, "Orders", "dr-exports", bucket_region=REGION)


# --------------------------------------------------------------------------------------------------
# Cross-region copy (AWS Backup): moto has no recovery points or copy jobs -> Stubber
# --------------------------------------------------------------------------------------------------

VAULT_ARN = f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:primary"
DR_VAULT_ARN = f"arn:aws:backup:us-west-2:{ACCOUNT}:backup-vault:dr-vault"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/backup"


def recovery_points() -> dict[str, Any]:
    def point(n: str, day: int, status: str) -> dict[str, Any]:
        return {"RecoveryPointArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/Orders/backup/{n}", "Status": status,
                "CreationDate": datetime(2025, 1, day, tzinfo=timezone.utc), "BackupVaultName": "primary"}

    return {"RecoveryPoints": [point("older", 1, "COMPLETED"), point("newest-ok", 2, "COMPLETED"),
                               point("failed", 3, "EXPIRED")]}


def test_copy_job_copies_the_newest_completed_recovery_point_and_waits() -> None:
    """Stubber: moto implements no AWS Backup recovery points, StartCopyJob or DescribeCopyJob."""
    backup = boto3.client("backup", region_name=REGION)
    newest = recovery_points()["RecoveryPoints"][1]["RecoveryPointArn"]
    with Stubber(backup) as stub:
        stub.add_response("list_recovery_points_by_resource", recovery_points(), {"ResourceArn": TABLE_ARN})
        stub.add_response("start_copy_job", {"CopyJobId": "job-1"}, {
            "RecoveryPointArn": newest, "SourceBackupVaultName": "primary", "DestinationBackupVaultArn": DR_VAULT_ARN,
            "IamRoleArn": ROLE, "Lifecycle": {"DeleteAfterDays": 35}})
        for state in ("RUNNING", "COMPLETED"):
            stub.add_response("describe_copy_job", {"CopyJob": {
                "CopyJobId": "job-1", "State": state, "SourceRecoveryPointArn": newest,
                "SourceBackupVaultArn": VAULT_ARN, "DestinationBackupVaultArn": DR_VAULT_ARN,
                **({"DestinationRecoveryPointArn": "arn:aws:backup:us-west-2:rp"} if state == "COMPLETED" else {})}},
                {"CopyJobId": "job-1"})
        result = start_copy_job(backup, table_arn=TABLE_ARN, destination_region="us-west-2", destination_vault="dr-vault",
                                iam_role_arn=ROLE, delete_after_days=35, wait=FAST)
        stub.assert_no_pending_responses()
    assert (result.copy_job_id, result.state, result.source_vault) == ("job-1", "COMPLETED", "primary")
    assert result.destination_recovery_point_arn == "arn:aws:backup:us-west-2:rp"


def test_copy_job_failures_are_clear() -> None:
    """Stubber (moto lacks copy jobs): a FAILED job and a table with no recovery point."""
    backup = boto3.client("backup", region_name=REGION)
    with Stubber(backup) as stub:
        stub.add_response("start_copy_job", {"CopyJobId": "job-2"})
        stub.add_response("describe_copy_job", {"CopyJob": {"CopyJobId": "job-2", "State": "FAILED",
                                                            "StatusMessage": "Access denied to destination vault"}})
        with pytest.raises(JobFailed, match="copy job job-2 ended FAILED.*Access denied"):
            start_copy_job(backup, table_arn=TABLE_ARN, destination_region="us-west-2", destination_vault=DR_VAULT_ARN,
                           iam_role_arn=ROLE, recovery_point_arn="arn:rp", source_vault="primary", wait=FAST)
        stub.add_response("list_recovery_points_by_resource", {"RecoveryPoints": []})
        with pytest.raises(BackupError, match="no COMPLETED recovery point"):
            start_copy_job(backup, table_arn=TABLE_ARN, destination_region="us-west-2", destination_vault="dr",
                           iam_role_arn=ROLE)


# --------------------------------------------------------------------------------------------------
# The Lambda
# --------------------------------------------------------------------------------------------------


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 900_000


LAMBDA_ENV = ("TABLE_NAME", "BACKUP_BUCKET", "EXPORT_FORMAT", "EXPORT_PREFIX", "EXPORT_WAIT_SECONDS", "COPY_TO_REGION",
              "COPY_TO_VAULT", "COPY_ROLE_ARN", "RETENTION_DAYS", "KEEP_MIN_BACKUPS")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in LAMBDA_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_lambda_handler_backs_up_exports_and_prunes(aws: dict[str, Any], env: pytest.MonkeyPatch) -> None:
    ddb = aws["dynamodb"]
    make_table(ddb, pitr=True)
    aws["s3"].create_bucket(Bucket="backups")
    for i in range(2):
        create_backup(ddb, "Orders", name=f"old-{i}")
    age_backups(10)
    for k, v in {"TABLE_NAME": "Orders", "BACKUP_BUCKET": "backups", "EXPORT_FORMAT": "ion",
                 "RETENTION_DAYS": "7", "EXPORT_WAIT_SECONDS": "5"}.items():
        env.setenv(k, v)

    summary = lambda_handler({"source": "aws.events"}, Context())

    json.dumps(summary)  # JSON-serialisable as it is
    steps = summary["steps"]
    assert list(steps) == ["backup", "export", "copy", "prune"] and "failed_step" not in summary
    assert steps["backup"]["status"] == "AVAILABLE" and steps["backup"]["name"].startswith("Orders-")
    assert steps["export"]["format"] == "ION" and steps["export"]["table_arn"].endswith(":table/Orders")
    assert steps["export"]["status"] in ("IN_PROGRESS", "COMPLETED")
    assert steps["copy"] == {"skipped": "COPY_TO_REGION not set"}
    assert sorted(b["name"] for b in steps["prune"]["deleted"]) == ["old-0", "old-1"]
    assert [b.name for b in list_backups(ddb, "Orders")] == [steps["backup"]["name"]]
    assert aws["s3"].list_objects_v2(Bucket="backups", Prefix="exports/Orders/")["KeyCount"] == 1


def test_lambda_failing_export_names_the_step_and_does_not_prune(aws: dict[str, Any], env: pytest.MonkeyPatch) -> None:
    ddb = aws["dynamodb"]
    make_table(ddb, pitr=False)  # export needs PITR
    create_backup(ddb, "Orders", name="old-0")
    age_backups(10)
    for k, v in {"TABLE_NAME": "Orders", "BACKUP_BUCKET": "backups", "RETENTION_DAYS": "7"}.items():
        env.setenv(k, v)
    with pytest.raises(BackupStepError) as caught:
        lambda_handler({}, Context())
    err = caught.value
    assert err.step == "export" and isinstance(err.cause, PitrNotEnabled) and isinstance(err.__cause__, PitrNotEnabled)
    assert "failed at step 'export'" in str(err)
    assert err.summary["failed_step"] == "export" and list(err.summary["steps"]) == ["backup"]
    names = [b.name for b in list_backups(ddb, "Orders")]
    assert "old-0" in names and len(names) == 2  # backed up, nothing pruned


@pytest.mark.parametrize(("variables", "name"), [
    ({}, "TABLE_NAME"),
    ({"TABLE_NAME": "Orders", "COPY_TO_REGION": "us-west-2"}, "COPY_TO_VAULT"),
    ({"TABLE_NAME": "Orders", "RETENTION_DAYS": "a week"}, "RETENTION_DAYS"),
    ({"TABLE_NAME": "Orders", "EXPORT_FORMAT": "CSV"}, "EXPORT_FORMAT"),
])
def test_lambda_config_errors_fail_the_config_step(env: pytest.MonkeyPatch, variables: dict[str, str], name: str) -> None:
    for k, v in variables.items():
        env.setenv(k, v)
    with pytest.raises(BackupStepError, match=f"step 'config'.*{name}") as caught:
        lambda_handler({}, None)
    assert caught.value.step == "config"


def test_backup_job_copy_step_with_stubbed_aws_backup(aws: dict[str, Any]) -> None:
    """The job's copy step, with moto's DynamoDB and a Stubber AWS Backup client (moto lacks copy jobs)."""
    ddb = aws["dynamodb"]
    make_table(ddb)
    backup = boto3.client("backup", region_name=REGION)
    settings = BackupJobSettings("Orders", copy_to_region="us-west-2", copy_to_vault="dr-vault", copy_role_arn=ROLE)
    with Stubber(backup) as stub:
        stub.add_response("list_recovery_points_by_resource", recovery_points(), {"ResourceArn": TABLE_ARN})
        stub.add_response("start_copy_job", {"CopyJobId": "job-9"}, {
            "RecoveryPointArn": ANY, "SourceBackupVaultName": "primary", "DestinationBackupVaultArn": DR_VAULT_ARN,
            "IamRoleArn": ROLE, "IdempotencyToken": ANY})
        summary = run_backup_job(settings, dynamodb=ddb, backup=backup, wait=FAST)
        stub.assert_no_pending_responses()
    assert summary["steps"]["copy"]["copy_job_id"] == "job-9"
    assert summary["steps"]["copy"]["destination_vault_arn"] == DR_VAULT_ARN
    assert summary["steps"]["prune"] == {"skipped": "RETENTION_DAYS not set"}


def test_backup_job_failing_copy_stops_before_prune(aws: dict[str, Any]) -> None:
    ddb = aws["dynamodb"]
    make_table(ddb)
    create_backup(ddb, "Orders", name="old-0")
    age_backups(30)
    backup = boto3.client("backup", region_name=REGION)
    settings = BackupJobSettings("Orders", copy_to_region="us-west-2", copy_to_vault="dr", copy_role_arn=ROLE,
                                 retention_days=7)
    with Stubber(backup) as stub:
        stub.add_client_error("list_recovery_points_by_resource", "AccessDeniedException", "not authorized")
        with pytest.raises(BackupStepError, match="step 'copy'.*not authorized") as caught:
            run_backup_job(settings, dynamodb=ddb, backup=backup, wait=FAST)
    assert "prune" not in caught.value.summary["steps"]
    assert "old-0" in [b.name for b in list_backups(ddb, "Orders")]


# --------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, ["backup", *args])


def test_cli_create_list_prune(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from ddbkit_infra.cli import common

    make_table(aws["dynamodb"])
    created = invoke("create", "--table", "Orders", "--name", "first", "--json")
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout)["status"] == "AVAILABLE"
    age_backups(10)
    assert invoke("create", "--table", "Orders", "--poll-interval", "0").exit_code == 0
    listed = json.loads(invoke("list", "--table", "Orders", "--json").stdout)
    assert [b["name"] for b in listed][0] == "first" and len(listed) == 2
    text = invoke("list", "--table", "Orders").stdout
    assert "first" in text and "AVAILABLE" in text

    dry = invoke("prune", "--table", "Orders", "--retention-days", "7", "--dry-run")
    assert dry.exit_code == 0 and "would delete 1 backup(s)" in dry.stdout
    refused = invoke("prune", "--table", "Orders", "--retention-days", "7")  # no --yes, no terminal: refused
    assert refused.exit_code == 2 and len(list_backups(aws["dynamodb"], "Orders")) == 2
    assert [ln for ln in refused.stderr.splitlines() if ln.startswith("error:")] == [
        "error: backup prune Orders: refused: no terminal to ask on (stdin or stdout is not one); pass --yes to proceed"]
    monkeypatch.setattr(common, "interactive", lambda: True)
    declined = CliRunner().invoke(cli, ["backup", "prune", "--table", "Orders", "--retention-days", "7"], input="n\n")
    assert declined.exit_code == 1 and "cancelled, nothing changed" in declined.stderr
    assert len(list_backups(aws["dynamodb"], "Orders")) == 2
    done = invoke("prune", "--table", "Orders", "--retention-days", "7", "--yes", "--json")
    assert done.exit_code == 0, done.output
    assert [b["name"] for b in json.loads(done.stdout)["deleted"]] == ["first"]
    assert len(list_backups(aws["dynamodb"], "Orders")) == 1


def test_cli_restore_and_export(aws: dict[str, Any]) -> None:
    ddb = aws["dynamodb"]
    make_table(ddb)
    aws["s3"].create_bucket(Bucket="exports")
    assert invoke("restore", "--table", "Orders", "--target", "X", "--latest-backup").exit_code == 1  # none yet
    create_backup(ddb, "Orders")
    restored = invoke("restore", "--table", "Orders", "--target", "OrdersCopy", "--latest-backup", "--poll-interval", "0",
                      "--json")
    assert restored.exit_code == 0, restored.output
    assert json.loads(restored.stdout)["status"] == "ACTIVE"
    assert index_names(ddb.describe_table(TableName="OrdersCopy")["Table"], "LocalSecondaryIndexes") == ["ByPlaced"]
    both = invoke("restore", "--table", "Orders", "--target", "Y", "--latest-backup", "--point-in-time")
    assert both.exit_code == 2

    no_pitr = invoke("export", "--table", "Orders", "--bucket", "exports")
    assert no_pitr.exit_code == 1 and "point-in-time recovery is not enabled" in no_pitr.output
    ddb.update_continuous_backups(TableName="Orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    exported = invoke("export", "--table", "Orders", "--bucket", "exports", "--prefix", "cli", "--poll-interval", "0.05")
    assert exported.exit_code == 0, exported.output
    assert "COMPLETED" in exported.stdout and "items: 3" in exported.stdout
    assert "manifest: not reported" in exported.stdout  # moto writes no manifest

    pitr = invoke("restore", "--table", "Orders", "--target", "OrdersPitr", "--point-in-time", "--poll-interval", "0")
    assert pitr.exit_code == 0, pitr.output
    assert "OrdersPitr" in ddb.list_tables()["TableNames"]


def test_cli_over_moto_server_with_endpoint_url(moto_backend: Any) -> None:
    make_table(moto_backend.client("dynamodb"))
    url = moto_backend.endpoint_url
    assert invoke("create", "--table", "Orders", "--name", "srv", "--endpoint-url", url).exit_code == 0
    listed = invoke("list", "--table", "Orders", "--endpoint-url", url, "--json")
    assert listed.exit_code == 0, listed.output
    assert [b["name"] for b in json.loads(listed.stdout)] == ["srv"]


def test_docs_snippets_run(capsys: pytest.CaptureFixture[str]) -> None:
    """Every ```python block of docs/backup.md runs as written (against moto)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "backup.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 2
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/backup.md[{i}]", "exec"), {})
    out = capsys.readouterr().out
    assert "export to S3 needs it" in out and "COMPLETED 1" in out
