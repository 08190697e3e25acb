"""The console's Starlette application: pages for tables, explore, items, live stream, capacity, plan, audit.

Starlette (with uvicorn and Jinja2) because it is a small, typed, well-kept ASGI toolkit: sync ddbkit
calls run on its thread pool, server-sent events are a plain streaming response, and templates and
static files ship as package data, so the console works offline. Every route that talks to DynamoDB
catches ddbkit's and botocore's errors and shows them inline as one line (:func:`one_line`); every POST
checks the session's CSRF token first, and every write first checks :attr:`ConsoleState.writes_allowed`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ddbkit.core.codec import item_size, marshal_item, unmarshal_item
from ddbkit.core.expressions import Key
from ddbkit.errors import ConditionalCheckFailed, DdbkitError
from ddbkit_infra.console import items as it
from ddbkit_infra.console.chart import capacity_svg
from ddbkit_infra.console.guard import Guard, csrf_token
from ddbkit_infra.console.state import ConsoleSettings, ConsoleState

__all__ = ["SK_OPERATORS", "EditConflict", "create_app", "delete_shown", "explore", "one_line", "read_current",
           "save_edit", "table_summary"]

_HERE = Path(__file__).resolve().parent
SK_OPERATORS = {"": "(any)", "eq": "=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=",
                "begins_with": "begins with", "between": "between"}
PAGE_LIMIT_MAX = 1000


def one_line(err: BaseException) -> str:
    """An error as one line for the page: ddbkit's message, or AWS's code and message (never a traceback)."""
    response = getattr(err, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        error = response["Error"]
        code, operation = error.get("Code", type(err).__name__), getattr(err, "operation_name", "")
        if code == "UnknownOperationException" and operation:
            text = (f"{operation}: this endpoint does not implement it (DynamoDB Local lacks most control-plane "
                    "calls; `ddbkit local` serves them)")
        else:
            text = f"{code}{f' ({operation})' if operation else ''}: {error.get('Message', '')}"
    elif isinstance(err, DdbkitError | ValueError):
        text = str(err)
    else:
        text = f"{type(err).__name__}: {err}"
    return " ".join(text.split())[:400]


# --------------------------------------------------------------------------------------------------
# Describing tables
# --------------------------------------------------------------------------------------------------


def _key_text(schema: list[Mapping[str, Any]]) -> str:
    return ", ".join(f"{k['AttributeName']} ({'partition' if k['KeyType'] == 'HASH' else 'sort'})" for k in schema)


def _projection(p: Mapping[str, Any]) -> str:
    kind = str(p.get("ProjectionType", "ALL"))
    extra = p.get("NonKeyAttributes") or []
    return f"{kind} ({', '.join(extra)})" if extra else kind


def table_summary(state: ConsoleState, name: str) -> dict[str, Any]:
    """What the tables page shows of ``name``: from DescribeTable when it exists, else from its file."""
    ref = state.components.get(name)
    row: dict[str, Any] = {"name": name, "exists": False, "component": ref.component if ref else None,
                           "tier": ref.tier if ref else None, "file": ref.file if ref else None}
    client = state.client("dynamodb")
    try:
        desc = client.describe_table(TableName=name)["Table"]
    except Exception as err:  # noqa: BLE001 - not created yet (a file's table), or unreadable: shown
        code = (getattr(err, "response", None) or {}).get("Error", {}).get("Code", "")
        row["status"] = "not created" if code == "ResourceNotFoundException" else one_line(err)
        return row
    types = {a["AttributeName"]: a["AttributeType"] for a in desc.get("AttributeDefinitions", [])}
    row.update(exists=True, status=desc.get("TableStatus", ""), key=_key_text(desc.get("KeySchema", [])),
               types=types, billing=(desc.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
               size=int(desc.get("TableSizeBytes", 0)), count=int(desc.get("ItemCount", 0)),
               stream=((desc.get("StreamSpecification") or {}).get("StreamViewType")
                       if (desc.get("StreamSpecification") or {}).get("StreamEnabled") else None),
               indexes=[{"name": i["IndexName"], "kind": kind, "key": _key_text(i["KeySchema"]),
                         "projection": _projection(i.get("Projection") or {})}
                        for kind, group in (("GSI", desc.get("GlobalSecondaryIndexes") or []),
                                            ("LSI", desc.get("LocalSecondaryIndexes") or []))
                        for i in group])
    try:
        ttl = client.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        row["ttl"] = (ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") else None)
    except Exception:  # noqa: BLE001 - an emulator without TTL: shown as unknown
        row["ttl"] = "unknown"
    return row


# --------------------------------------------------------------------------------------------------
# Explore (query / scan)
# --------------------------------------------------------------------------------------------------


def _typed(state: ConsoleState, name: str, attr: str, text: str) -> Any:
    types = state.table(name).key_schema.types
    return it.parse_key_value(text, types.get(attr, "S"), attr)


def _stack(text: str) -> list[str]:
    if not text:
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise it.ItemInputError("the page stack is damaged: start again from the first page", "stack",
                                "page.stack") from None
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise it.ItemInputError("the page stack is damaged: start again from the first page", "stack", "page.stack")
    return data


def _placeholders(text: str, field: str, rule_text: str) -> dict[str, Any] | None:
    """The filter's ``#name``/``:value`` placeholders typed as a JSON object (None when the field is empty)."""
    if not text.strip():
        return None
    try:
        data = json.loads(text, parse_float=Decimal, parse_int=int)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise it.ItemInputError(rule_text, field, f"filter.{field}")
    return data


def explore(state: ConsoleState, name: str, q: Mapping[str, str]) -> dict[str, Any]:
    """Run the query or scan the explore form describes; the page's items, sizes, capacity and cursors.

    Paging keeps a stack of cursors in the URL: ``cursor`` is this page's (empty: the first), ``stack``
    the cursors of the pages before it, so "previous" pops and "next" pushes."""
    table = state.table(name)
    schema = table.key_schema
    mode = q.get("mode", "query")
    index = q.get("index") or None
    hash_key, range_key = schema.index(index)
    limit_text = q.get("limit") or "25"
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= PAGE_LIMIT_MAX:
        raise it.ItemInputError(f"a whole number from 1 to {PAGE_LIMIT_MAX}", "limit", "page.limit")
    limit = int(limit_text)
    attributes = [a.strip() for a in (q.get("projection") or "").split(",") if a.strip()] or None
    if attributes:
        attributes = list(dict.fromkeys([*schema.names, *attributes]))  # keys always: each row links to its item
    values = _placeholders(q.get("values", ""), "values", "filter values are a JSON object like {\":v\": 1}")
    raw_names = _placeholders(q.get("names", ""), "names", "filter names are a JSON object like {\"#n\": \"name\"}")
    names = {str(k): str(v) for k, v in raw_names.items()} if raw_names is not None else None
    stack = _stack(q.get("stack", ""))
    cursor = q.get("cursor") or None
    filt = q.get("filter") or None
    started = time.monotonic()
    if mode == "scan":
        page = table.scan(filt, index=index, limit=limit, cursor=cursor, attributes=attributes, names=names,
                          values=values)
    else:
        pk_text = q.get("pk", "")
        cond = Key(hash_key).eq(_typed(state, name, hash_key, pk_text))
        op = q.get("sk_op", "")
        if op and range_key:
            low = _typed(state, name, range_key, q.get("sk", ""))
            if op == "between":
                cond = cond & Key(range_key).between(low, _typed(state, name, range_key, q.get("sk2", "")))
            elif op in ("eq", "lt", "lte", "gt", "gte", "begins_with"):
                cond = cond & getattr(Key(range_key), op)(low)
            else:
                raise it.ItemInputError("choose a sort-key condition from the list", "sk_op", "query.sort-key")
        page = table.query(cond, index=index, filter=filt, limit=limit, cursor=cursor, attributes=attributes,
                           forward=q.get("direction", "forward") != "backward", names=names, values=values)
    elapsed = time.monotonic() - started
    state.record_usage(name)
    rows = []
    for item in page.items:
        wire = marshal_item(item)
        rows.append({"key": json.dumps(it.key_of(json.loads(it.wire_json(wire)), schema.names), sort_keys=True),
                     "size": item_size(wire), "item": item})
    columns = list(dict.fromkeys([*schema.names, *(k for i in page.items for k in sorted(i))]))
    base = {k: v for k, v in q.items() if k not in ("cursor", "stack")}
    prev_link = next_link = None
    if cursor is not None:
        prev_link = {**base, "cursor": stack[-1] if stack else "", "stack": json.dumps(stack[:-1])}
    if page.cursor:
        next_link = {**base, "cursor": page.cursor, "stack": json.dumps([*stack, cursor or ""])}
    return {"rows": rows, "columns": columns, "count": page.count, "scanned": page.scanned_count,
            "capacity": page.consumed_capacity, "total_size": sum(r["size"] for r in rows),
            "page_number": len(stack) + 1,
            "prev": prev_link, "next": next_link, "elapsed_ms": round(elapsed * 1000)}


def cell(value: Any) -> str:
    """A value in a result table: JSON-ish, cut at 80 characters."""
    text = value if isinstance(value, str) else it.plain_json({"v": value})[5:-1]
    return text if len(text) <= 80 else text[:77] + "..."


# --------------------------------------------------------------------------------------------------
# The application
# --------------------------------------------------------------------------------------------------


def create_app(settings: ConsoleSettings | ConsoleState) -> Any:
    """The console as an ASGI application (Starlette inside :class:`~ddbkit_infra.console.guard.Guard`)."""
    state = settings if isinstance(settings, ConsoleState) else ConsoleState(settings)
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    templates.env.filters["cell"] = cell
    templates.env.filters["query"] = urlencode

    def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
        session = str(request.scope.get("state", {}).get("session", ""))
        context.update(state=state, csrf=csrf_token(state.csrf_secret, session), writes=state.writes_allowed,
                       sk_operators=SK_OPERATORS, endpoint=state.settings.endpoint_url or "AWS")
        return templates.TemplateResponse(request, template, context, status_code=status)

    async def form(request: Request) -> dict[str, str]:
        """The POSTed form after its CSRF token is checked (a mismatch raises :class:`PermissionError`)."""
        data = await request.form()
        fields = {k: v for k, v in data.items() if isinstance(v, str)}
        session = str(request.scope.get("state", {}).get("session", ""))
        if not hmac.compare_digest(fields.get("csrf", ""), csrf_token(state.csrf_secret, session)):
            raise PermissionError("csrf")
        return fields

    def refused(request: Request, what: str) -> Response:
        return render(request, "error.html", 403, error=f"{what}: refused: {_readonly_reason(state)}")

    async def forbidden_csrf(request: Request) -> Response:
        return render(request, "error.html", 403,
                      error="form: refused: its CSRF token does not match this browser session (reload the page)")

    # -- tables --------------------------------------------------------------------------------
    async def tables(request: Request) -> Response:
        try:
            names = await run_in_threadpool(state.table_names)
            rows = [await run_in_threadpool(table_summary, state, n) for n in names]
            error = None
        except Exception as err:  # noqa: BLE001 - the endpoint is down: say so on the page
            rows, error = [], f"{state.settings.endpoint_url or 'AWS'}: {one_line(err)}"
        return render(request, "tables.html", rows=rows, error=error)

    async def table_page(request: Request) -> Response:
        name = request.path_params["name"]
        q = dict(request.query_params)
        summary = await run_in_threadpool(table_summary, state, name)
        result, error = None, None
        if summary["exists"] and q.get("mode"):
            try:
                result = await run_in_threadpool(explore, state, name, q)
            except Exception as err:  # noqa: BLE001 - shown inline, one line
                error = one_line(err)
        schema = None
        if summary["exists"]:
            schema = (await run_in_threadpool(state.table, name)).key_schema
        return render(request, "table.html", t=summary, q=q, result=result, error=error, schema=schema,
                      partiql=None)

    async def partiql(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            fields = await form(request)
        except PermissionError:
            return await forbidden_csrf(request)
        statement = fields.get("statement", "").strip()
        summary = await run_in_threadpool(table_summary, state, name)
        schema = (await run_in_threadpool(state.table, name)).key_schema if summary["exists"] else None
        result: dict[str, Any] = {"statement": statement}
        first = statement.split(None, 1)[0].upper() if statement else ""
        if not statement:
            result["error"] = "statement: type a PartiQL statement"
        elif first != "SELECT" and not state.writes_allowed:
            result["error"] = f"statement: refused: {first} writes and {_readonly_reason(state)}"
        else:
            try:
                reply = await run_in_threadpool(
                    lambda: state.client("dynamodb").execute_statement(Statement=statement, Limit=100,
                                                                      ReturnConsumedCapacity="TOTAL"))
                wire_items = reply.get("Items", [])
                units = float((reply.get("ConsumedCapacity") or {}).get("CapacityUnits") or 0.0)
                state.add_units(name, units if first == "SELECT" else 0.0, 0.0 if first == "SELECT" else units)
                items = [unmarshal_item(w) for w in wire_items]
                result.update(rows=[{"item": i, "size": item_size(w)} for i, w in zip(items, wire_items, strict=True)],
                              columns=list(dict.fromkeys(k for i in items for k in sorted(i))), capacity=units)
            except Exception as err:  # noqa: BLE001 - shown inline
                result["error"] = f"statement: {one_line(err)}"
        return render(request, "table.html", t=summary, q={}, result=None, error=None, schema=schema,
                      partiql=result)

    # -- items ---------------------------------------------------------------------------------
    def _load_item(name: str, key_text: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        try:
            key_wire = json.loads(key_text)
            key = unmarshal_item(key_wire)
        except Exception:  # noqa: BLE001
            raise it.ItemInputError("the item key in the link is damaged", "key", "item.key") from None
        table = state.table(name)
        item = table.get(key, consistent=True)
        state.record_usage(name)
        return item, key

    async def item_page(request: Request) -> Response:
        name = request.path_params["name"]
        key_text = request.query_params.get("key", "")
        try:
            item, _ = await run_in_threadpool(_load_item, name, key_text)
        except Exception as err:  # noqa: BLE001
            return render(request, "item.html", name=name, item=None, error=one_line(err), key=key_text)
        if item is None:
            return render(request, "item.html", name=name, item=None, key=key_text,
                          error="item: not found (deleted since the link was made?)")
        return render(request, "item.html", **_item_context(state, name, item, key_text))

    async def new_item(request: Request) -> Response:
        name = request.path_params["name"]
        schema = (await run_in_threadpool(state.table, name)).key_schema
        skeleton = {k: ("" if schema.types.get(k, "S") == "S" else 0) for k in schema.names}
        return render(request, "item.html", name=name, item=None, key="", new=True,
                      text=json.dumps(skeleton, indent=2), fmt="plain")

    async def save_item(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            fields = await form(request)
        except PermissionError:
            return await forbidden_csrf(request)
        if not state.writes_allowed:
            return refused(request, "save")
        fmt: Any = "dynamodb" if fields.get("format") == "dynamodb" else "plain"
        text = fields.get("item", "")
        shown_text = fields.get("shown", "")
        try:
            result = await run_in_threadpool(save_edit, state, name, text, fmt, shown_text, fields.get("shown_hash", ""))
        except Exception as err:  # noqa: BLE001 - one line, the form keeps what was typed
            error = one_line(err)
            context: dict[str, Any] = {"name": name, "text": text, "fmt": fmt, "error": error,
                                       "new": not shown_text, "shown": shown_text,
                                       "shown_hash": fields.get("shown_hash", ""), "key": fields.get("key", ""),
                                       "item": None}
            if isinstance(err, EditConflict):
                context.update(conflict=err.diffs, current=err.current_text)
            return render(request, "item.html", 409 if isinstance(err, EditConflict) else 400, **context)
        return RedirectResponse(f"/tables/{name}/item?key={_quote(result)}&saved=1", status_code=303)

    async def delete_item(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            fields = await form(request)
        except PermissionError:
            return await forbidden_csrf(request)
        if not state.writes_allowed:
            return refused(request, "delete")
        try:
            await run_in_threadpool(delete_shown, state, name, fields.get("shown", ""), fields.get("shown_hash", ""))
        except Exception as err:  # noqa: BLE001
            context: dict[str, Any] = {"name": name, "item": None, "key": fields.get("key", ""),
                                       "error": one_line(err)}
            if isinstance(err, EditConflict):
                context.update(conflict=err.diffs, current=err.current_text)
            return render(request, "item.html", 409 if isinstance(err, EditConflict) else 400, **context)
        return RedirectResponse(f"/tables/{name}?deleted=1", status_code=303)

    # -- live ----------------------------------------------------------------------------------
    async def live_page(request: Request) -> Response:
        name = request.path_params["name"]
        summary = await run_in_threadpool(table_summary, state, name)
        return render(request, "live.html", t=summary)

    async def live_events(request: Request) -> Response:
        name = request.path_params["name"]
        return StreamingResponse(_stream_events(state, name, request), media_type="text/event-stream",
                                 headers={"cache-control": "no-store"})

    # -- capacity, plan, audit -----------------------------------------------------------------
    async def capacity(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            report, source = await run_in_threadpool(_capacity_report, state, name)
        except Exception as err:  # noqa: BLE001
            return render(request, "capacity.html", name=name, report=None, error=one_line(err))
        return render(request, "capacity.html", name=name, report=report, svg=capacity_svg(report), source=source,
                      error=None)

    async def plan(request: Request) -> Response:
        name = request.path_params["name"]
        ref = state.components.get(name)
        if ref is None:
            return render(request, "plan.html", name=name, plan=None,
                          error=f"{name}: no component file given defines this table (ddbkit console FILE)")
        try:
            result = await run_in_threadpool(_plan, state, name)
        except Exception as err:  # noqa: BLE001
            return render(request, "plan.html", name=name, plan=None, ref=ref, error=one_line(err))
        return render(request, "plan.html", name=name, plan=result, ref=ref, error=None)

    async def audit(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            report = await run_in_threadpool(_audit, state, name)
        except Exception as err:  # noqa: BLE001
            return render(request, "audit.html", name=name, report=None, error=one_line(err))
        return render(request, "audit.html", name=name, report=report, ref=state.components.get(name), error=None)

    routes = [
        Route("/", tables),
        Route("/tables/{name}", table_page),
        Route("/tables/{name}/partiql", partiql, methods=["POST"]),
        Route("/tables/{name}/item", item_page),
        Route("/tables/{name}/new", new_item),
        Route("/tables/{name}/item/save", save_item, methods=["POST"]),
        Route("/tables/{name}/item/delete", delete_item, methods=["POST"]),
        Route("/tables/{name}/live", live_page),
        Route("/tables/{name}/live/events", live_events),
        Route("/tables/{name}/capacity", capacity),
        Route("/tables/{name}/plan", plan),
        Route("/tables/{name}/audit", audit),
        Mount("/static", app=StaticFiles(directory=str(_HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.console = state
    return Guard(app, state)


def _readonly_reason(state: ConsoleState) -> str:
    return (f"the console is read-only against {state.settings.endpoint_url or 'AWS'} "
            "(start it with --allow-writes to change items there)")


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


class EditConflict(DdbkitError):
    """The item changed since it was shown: nothing was written."""

    def __init__(self, diffs: list[it.AttributeDiff], current: Mapping[str, Any] | None) -> None:
        self.diffs = diffs
        self.current_text = it.wire_json(current, indent=2) if current is not None else None
        names = ", ".join(d.name for d in diffs) or "the item"
        what = "was deleted" if current is None else f"changed since it was shown ({names})"
        super().__init__(f"item: refused: the item {what}; nothing was written. Reload it and edit again")


def _item_context(state: ConsoleState, name: str, item: Mapping[str, Any], key_text: str) -> dict[str, Any]:
    wire = marshal_item(dict(item))
    wire_text = it.wire_json(wire)
    fmt = "dynamodb" if it.needs_dynamodb_json(item) else "plain"
    return {"name": name, "item": item, "key": key_text, "plain": it.plain_json(item, indent=2),
            "dynamodb": it.wire_json(wire, indent=2), "size": item_size(wire), "shown": wire_text,
            "shown_hash": it.fingerprint(wire), "fmt": fmt,
            "text": it.wire_json(wire, indent=2) if fmt == "dynamodb" else it.plain_json(item, indent=2)}


def _shown(shown_text: str, shown_hash: str) -> dict[str, Any]:
    try:
        shown = json.loads(shown_text)
    except json.JSONDecodeError:
        raise it.ItemInputError("the form's copy of the item is damaged: reload the item", "shown",
                                "item.shown") from None
    if not isinstance(shown, dict) or not hmac.compare_digest(it.fingerprint(shown), shown_hash):
        raise it.ItemInputError("the form's copy of the item is damaged: reload the item", "shown", "item.shown")
    return shown


def read_current(state: ConsoleState, name: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
    table = state.table(name)
    current = table.get(unmarshal_item(dict(key)), consistent=True)
    state.record_usage(name)
    return marshal_item(current) if current is not None else None


def save_edit(state: ConsoleState, name: str, text: str, fmt: Any, shown_text: str, shown_hash: str) -> str:
    """Create (no ``shown``) or edit an item; returns the saved item's key as DynamoDB JSON text.

    Editing reads the item again (consistent) and refuses when it differs from what was shown; the
    UpdateItem then carries a condition on every shown attribute, so a write that lands between that read
    and the update is refused too, never overwritten."""
    parsed = it.parse_item(text, fmt)
    table = state.table(name)
    schema = table.key_schema
    edited = it.to_wire(parsed, schema.names, schema.types)  # every rule before sending
    model = state.models.get(name)
    if model is not None:  # the typed model: field paths and pydantic error types, never a value
        from ddbkit.models.base import decode_item

        decode_item(model, unmarshal_item(edited), name, None)
    key_wire = it.key_of(edited, schema.names)
    key_text = json.dumps(json.loads(it.wire_json(key_wire)), sort_keys=True)
    if not shown_text:
        names = {f"#k{i}": k for i, k in enumerate(schema.names)}
        try:
            table.put(unmarshal_item(edited), condition=" AND ".join(f"attribute_not_exists({n})" for n in names),
                      names=names)
        except ConditionalCheckFailed:
            raise it.ItemInputError("an item with this key exists already (open it to edit it)", "item",
                                    "item.exists") from None
        finally:
            state.record_usage(name)
        return key_text
    shown = _shown(shown_text, shown_hash)
    plan = it.edit_plan(shown, edited, schema.names)
    current = read_current(state, name, it.key_of(shown, schema.names))
    differences = it.diff(shown, current)
    if differences or current is None:
        raise EditConflict(differences, current)
    if plan.expression is None:
        return key_text
    cond, cnames, cvalues = it.shown_condition(shown)
    try:
        table.update(unmarshal_item(key_wire), plan.expression, condition=cond, names={**plan.names, **cnames},
                     values={**plan.values, **cvalues}, return_on_failure=True)
    except ConditionalCheckFailed as err:
        now = marshal_item(err.item) if err.item is not None else read_current(state, name, key_wire)
        raise EditConflict(it.diff(shown, now), now) from None
    finally:
        state.record_usage(name)
    return key_text


def delete_shown(state: ConsoleState, name: str, shown_text: str, shown_hash: str) -> None:
    """Delete the item shown, only while it is still exactly as shown."""
    table = state.table(name)
    schema = table.key_schema
    shown = _shown(shown_text, shown_hash)
    key_wire = it.key_of(shown, schema.names)
    cond, names, values = it.shown_condition(shown)
    current = read_current(state, name, key_wire)
    if current is None or it.diff(shown, current):
        raise EditConflict(it.diff(shown, current), current)
    try:
        table.delete(unmarshal_item(key_wire), condition=cond, names=names, values=values, return_on_failure=True)
    except ConditionalCheckFailed as err:
        now = marshal_item(err.item) if err.item is not None else None
        raise EditConflict(it.diff(shown, now), now) from None
    finally:
        state.record_usage(name)


class _Collect:
    """A stream processor that keeps the records for the page (values go to the browser only)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def process(self, records: Any) -> Any:
        from ddbkit.streams.processors import BatchResult

        self.records.extend(records)
        return BatchResult(records=[], processed=len(records))


def _event(record: Mapping[str, Any]) -> str:
    body = record.get("dynamodb") or {}

    def image(key: str) -> str | None:
        raw = body.get(key)
        return it.plain_json(unmarshal_item(raw)) if raw else None

    return json.dumps({"event": record.get("eventName"), "keys": image("Keys"), "new": image("NewImage"),
                       "old": image("OldImage"), "sequence": body.get("SequenceNumber")})


async def _stream_events(state: ConsoleState, name: str, request: Request) -> AsyncIterator[str]:
    """Server-sent events: ``ready`` once the poller holds LATEST iterators, then one ``record`` per change."""
    from ddbkit.streams.poller import StreamPoller

    collect = _Collect()
    try:
        poller = StreamPoller(collect, name, client=state.client("dynamodbstreams"),
                              dynamodb_client=state.client("dynamodb"), start="latest", max_errors=3)
        await run_in_threadpool(poller.poll_once)
    except Exception as err:  # noqa: BLE001 - no stream on the table, or the endpoint lacks streams
        yield f"event: failure\ndata: {json.dumps(one_line(err))}\n\n"
        return
    yield "event: ready\ndata: {}\n\n"
    idle = 0.0
    while not await request.is_disconnected():
        for record in collect.records:
            yield f"event: record\ndata: {_event(record)}\n\n"
        collect.records.clear()
        await asyncio.sleep(0.5)
        idle += 0.5
        if idle >= 15:
            idle = 0.0
            yield ": keep-alive\n\n"
        try:
            await run_in_threadpool(poller.poll_once)
        except Exception as err:  # noqa: BLE001
            yield f"event: failure\ndata: {json.dumps(one_line(err))}\n\n"
            return


def _capacity_report(state: ConsoleState, name: str) -> tuple[Any, str]:
    from ddbkit.ops.capacity import CapacityMonitor

    description = state.client("dynamodb").describe_table(TableName=name)["Table"]
    if state.on_aws:
        monitor = CapacityMonitor(name, state.client("cloudwatch"), dynamodb=state.client("dynamodb"))
        return monitor.report(description=description), "CloudWatch (AWS/DynamoDB), 5-minute periods"
    return state.local_capacity(name, description), (
        "this console's own requests, as ddbkit counted their consumed capacity (a local endpoint has no "
        "CloudWatch), 1-minute periods")


def _plan(state: ConsoleState, name: str) -> dict[str, Any]:
    from ddbkit_infra.compliance import resolve
    from ddbkit_infra.iam.security import bind_accesses, bind_grants
    from ddbkit_infra.plan import make_plan

    ref = state.components[name]
    plan = make_plan(resolve(ref.config), state.aws_clients(), bind_accesses=bind_accesses(ref.loaded, ref.component),
                     bind_grants=bind_grants(ref.loaded, ref.component))
    return {"text": plan.render(show_noop=True), "data": plan.to_dict(), "pending": bool(plan.pending),
            "refused": [f"{c.label}: {c.reason}" for c in plan.refused], "notes": list(plan.notes)}


def _audit(state: ConsoleState, name: str) -> Any:
    from ddbkit_infra.audit import audit_table
    from ddbkit_infra.compliance import resolve

    ref = state.components.get(name)
    if ref is None:
        return audit_table(state.aws_clients(), name)
    eff = resolve(ref.config)
    return audit_table(state.aws_clients(), name, eff.framework, eff.config)
