"""``ddbkit demo``: the whole product on one table, end to end, on an embedded local backend.

Steps (each timed, summarised at the end): start moto's server on a free port (or use ``--endpoint-url``
/ real AWS), show the plan for the session-store example and apply it, write 10,000 sessions through
``batch_write`` with a progress bar, page through one user's sessions with a signed cursor, run the
active-sessions filter (reserved word ``status``), process the table's stream with a StreamProcessor,
take a backup and a point-in-time export to S3, print the capacity report, synthesise the CloudFormation
template and the IAM policy of the spec's Lambda binding.

:func:`local_environment` and :func:`provision` are also what the examples' ``run.py`` scripts use.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ddbkit.config import ComponentFile, load_component_file
from ddbkit_infra.compliance import EffectiveConfig, resolve

__all__ = ["local_environment", "provision", "run_demo", "find_example", "check", "DemoStep"]

REPO = Path(__file__).resolve().parents[1]


def check(what: str, ok: bool) -> None:
    """Print one example check; exit 1 when it fails (the examples' run.py scripts use it)."""
    print(f"{'ok ' if ok else 'FAIL'} {what}")
    if not ok:
        raise SystemExit(1)


def find_example(name: str) -> Path:
    """``examples/<name>/component.yaml`` in the working directory or next to the package."""
    for base in (Path.cwd(), REPO):
        path = base / "examples" / name / "component.yaml"
        if path.exists():
            return path
    raise FileNotFoundError(f"examples/{name}/component.yaml not found (run from the ddbkit repository)")


@contextmanager
def local_environment(endpoint_url: str | None = None, *, use_aws: bool = False) -> Iterator[str | None]:
    """Point boto3 (and so every ddbkit client) at a backend for the duration of the block.

    With neither ``endpoint_url`` nor ``use_aws``, starts moto's server on a free loopback port with fake
    credentials. Yields the endpoint URL (None for real AWS). The environment is restored afterwards.
    """
    from ddbkit_infra.local import MotoServer, local_credentials_env

    saved = dict(os.environ)
    server: MotoServer | None = None
    try:
        if not use_aws:
            if endpoint_url is None:
                import logging

                server = MotoServer().start()
                # moto answers operations it lacks with a 500 that werkzeug prints as a traceback
                logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
                endpoint_url = server.endpoint_url
            os.environ.update(local_credentials_env(endpoint_url))
        yield endpoint_url
    finally:
        os.environ.clear()
        os.environ.update(saved)
        if server is not None:
            server.stop()


def _local_key(endpoint_url: str | None, region: str, eff: EffectiveConfig) -> None:
    """On a local backend the example's KMS key ARN does not exist: make a real key there and use it."""
    sse = eff.config.sse_specification
    if endpoint_url is None or sse is None or not sse.kms_master_key_id:
        return
    import boto3

    kms = boto3.client("kms", region_name=region, endpoint_url=endpoint_url)
    key = kms.create_key(Description=f"ddbkit demo key for {eff.config.table_name}")["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"])
    sse.kms_master_key_id = key["Arn"]


def provision(path: str | Path, *, endpoint_url: str | None, region: str = "us-east-1",
              echo: Callable[[str], Any] | None = print, local: bool = True) -> dict[str, EffectiveConfig]:
    """Plan and apply every table of a component file; return the effective configs by component name.

    ``local`` skips (and reports) calls a local emulator lacks, and swaps the configs' KMS key ARNs for
    keys created on the local backend.
    """
    from ddbkit_infra.apply import apply_plan
    from ddbkit_infra.plan import AwsClients, make_plan

    loaded = load_component_file(path)
    config = None
    if local:
        from botocore.config import Config

        # an emulator answers what it lacks with a 500: do not spend seconds retrying it
        config = Config(retries={"total_max_attempts": 2, "mode": "standard"})
    clients = AwsClients(region=region, endpoint_url=endpoint_url, config=config)
    out: dict[str, EffectiveConfig] = {}
    for name, cfg in loaded.tables.items():
        eff = resolve(cfg)
        if local:
            _local_key(endpoint_url, region, eff)
            if eff.config.global_tables is not None:
                # an emulator has no other regions: keep the home replica's settings, skip the others
                if echo:
                    echo(f"{name}: local backend, so replicas in "
                         f"{[r for r in eff.config.global_tables.all_regions() if r != region]} are skipped")
                eff.config.global_tables = None
        plan = make_plan(eff, clients)
        if echo:
            echo(plan.render())
        apply_plan(plan, clients, echo=echo, poll=0.2 if local else 5.0, skip_unsupported=local)
        out[name] = eff
    return out


@dataclass
class DemoStep:
    name: str
    seconds: float
    items: int | str = ""
    detail: str = ""


@dataclass
class DemoReport:
    steps: list[DemoStep] = field(default_factory=list)
    created: list[str] = field(default_factory=list)


def run_demo(*, endpoint_url: str | None = None, use_aws: bool = False, sessions: int = 10_000,
             users: int = 200, out_dir: str | Path = ".ddbkit-demo", console: Any = None) -> DemoReport:
    """Run the demo; return what each step did (also printed)."""
    from rich.console import Console

    console = console or Console()
    report = DemoReport()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"

    def run(name: str, fn: Callable[[], tuple[int | str, str]]) -> None:
        console.rule(f"[bold]{name}")
        t0 = time.perf_counter()
        items, detail = fn()
        report.steps.append(DemoStep(name, time.perf_counter() - t0, items, detail))

    with local_environment(endpoint_url, use_aws=use_aws) as endpoint:
        where = endpoint or f"AWS {region}"
        console.print(f"[bold green]ddbkit demo[/] against {where}")
        path = find_example("session-store")
        loaded = load_component_file(path)
        state: dict[str, Any] = {}

        def _apply() -> tuple[int | str, str]:
            effs = provision(path, endpoint_url=endpoint, region=region, echo=console.print,
                             local=not use_aws)
            state["eff"] = effs["user-sessions"]
            report.created += [f"table {state['eff'].config.table_name}", "TTL on expiresAt", "PITR",
                               "stream NEW_AND_OLD_IMAGES", "alarms", "KMS key (local)"]
            return 1, f"tier {state['eff'].framework.value}"

        run("plan and apply the session-store component", _apply)

        from ddbkit import Table
        from ddbkit.patterns.sessions import SessionStore

        cfg = state["eff"].config
        table = Table.from_config(cfg, region_name=region, cursor_secret="demo-secret-" * 3)
        store = SessionStore(table)

        def _write() -> tuple[int | str, str]:
            from rich.progress import Progress

            now = int(time.time())
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("batch_write", total=sessions)
                with table.batch_writer(flush_every=500) as writer:
                    for i in range(sessions):
                        writer.put({"sessionId": f"s-{i:06d}", "userId": f"user-{i % users:04d}",
                                    "createdAt": now - sessions + i, "expiresAt": now + 3600 + i,
                                    "status": "ACTIVE" if (i // users) % 5 else "EXPIRED", "sessionType": "web",
                                    "ipAddress": f"203.0.113.{i % 250}", "userAgent": "demo/1.0"})
                        if (i + 1) % 500 == 0:
                            progress.update(task, completed=i + 1)
                    progress.update(task, completed=sessions)
            usage = table.usage
            return writer.written, (f"{usage.calls.get('BatchWriteItem', 0)} BatchWriteItem calls, "
                                    f"{usage.total_retries} retries")

        def _pages() -> tuple[int | str, str]:
            seen, pages, cursor = 0, 0, None
            while True:
                page = store.list_for_user("user-0007", limit=20, cursor=cursor)
                seen += len(page.items)
                pages += 1
                cursor = page.cursor
                if pages == 1 and cursor:
                    console.print(f"first cursor: {cursor[:40]}...")
                if cursor is None:
                    break
            return seen, f"{pages} pages of 20, newest first"

        def _active() -> tuple[int | str, str]:
            active = store.active_for_user("user-0007")
            return len(active), "status = ACTIVE and expiresAt > now"

        def _stream() -> tuple[int | str, str]:
            from collections import Counter

            from ddbkit.streams.poller import StreamPoller
            from ddbkit.streams.records import StreamRecord
            from ddbkit.streams.processors import StreamProcessor

            seen: Counter[str] = Counter()

            class Analytics(StreamProcessor):
                def on_insert(self, record: StreamRecord) -> None:
                    seen[(record.new_image or {}).get("userId", "?")] += 1

            poller = StreamPoller(Analytics(), cfg.table_name, start="trim-horizon")
            poller.run(max_records=sessions, timeout=120, idle_timeout=5)
            return sum(seen.values()), f"INSERTs from {len(seen)} users"

        def _backup() -> tuple[int | str, str]:
            import boto3

            from ddbkit.ops.backup import create_backup, export_table

            ddb = boto3.client("dynamodb", region_name=region)
            backup = create_backup(ddb, cfg.table_name)
            bucket = "ddbkit-demo-exports"
            if not use_aws:
                boto3.client("s3", region_name=region).create_bucket(Bucket=bucket)
            export = export_table(ddb, cfg.table_name, bucket, prefix="exports/UserSessions")
            report.created += [f"backup {backup.name}", f"export s3://{bucket}/exports/UserSessions"]
            return 2, f"backup {backup.status}; export {export.status}"

        def _capacity() -> tuple[int | str, str]:
            import boto3

            from ddbkit.ops.capacity import CapacityMonitor, UsagePublisher

            cloudwatch = boto3.client("cloudwatch", region_name=region)
            UsagePublisher(table, cloudwatch=cloudwatch).flush()
            usage = table.usage
            console.print(f"this client consumed {usage.write_units:,.0f} WCU and {usage.read_units:,.0f} RCU "
                          f"in {usage.total_calls} calls (published as ddbkit/* custom metrics)")
            rep = CapacityMonitor(table, cloudwatch).report()
            console.print(rep.render_text())
            if rep.no_traffic and not use_aws:
                console.print("(moto emits no AWS/DynamoDB metrics, so CloudWatch shows no traffic locally)")
            return f"{usage.write_units:,.0f} WCU", "no traffic in CloudWatch" if rep.no_traffic else "report"

        def _synth() -> tuple[int | str, str]:
            import json

            from ddbkit_infra.synth.cloudformation import render, synthesize
            from ddbkit_infra.iam.binds import arn_context, bind_outputs

            template = synthesize(resolve(loaded.table("user-sessions")), region=region)
            target = out / "user-sessions.template.yaml"
            target.write_text(render(template, "yaml"))
            bind = bind_outputs(loaded, "session-manager", arn_context("123456789012", region))
            policy = bind.binds[0].policy if bind.binds else {}
            console.print_json(json.dumps(policy))
            console.print({k: v for k, v in bind.environment.items()})
            return len(template.get("Resources", {})), f"template: {target}"

        run(f"write {sessions:,} sessions with batch_write", _write)
        run("page through one user's sessions (signed cursor)", _pages)
        run("active sessions filter (reserved word 'status')", _active)
        run("process the stream with a StreamProcessor", _stream)
        run("on-demand backup and point-in-time export to S3", _backup)
        run("capacity report", _capacity)
        run("CloudFormation template and the Lambda binding's IAM policy", _synth)

    _summary(console, report)
    return report


def _summary(console: Any, report: DemoReport) -> None:
    from rich.table import Table as RichTable

    t = RichTable(title="ddbkit demo summary")
    t.add_column("step")
    t.add_column("seconds", justify="right")
    t.add_column("items", justify="right")
    t.add_column("detail")
    for s in report.steps:
        t.add_row(s.name, f"{s.seconds:.2f}", str(s.items), s.detail)
    console.print(t)
    console.print("created: " + ", ".join(report.created))


def components(path: str | Path) -> ComponentFile:
    """The component file at ``path`` (for the examples' scripts)."""
    return load_component_file(path)
