"""What an accelerated client does for one data-plane call, and when it steps aside for botocore.

Per operation, the :class:`Engine` classifies the handlers on the client's events for every event botocore
emits during a call. Each one is either replaced by an equivalent step here (idempotency tokens, SigV4
signing, the User-Agent, the recursion-detection and retry headers, boto3's resource-layer transformation),
called as botocore calls it (the retry handlers on ``needs-retry``, standard mode's retry quota on
``after-call``, adaptive mode's rate limiter on ``before-send``), or unknown. An unknown handler - botocore's
``Stubber``, an instrumentation hook, anything a user registered - makes the engine step aside: the call goes
to botocore's ``BaseClient._make_api_call`` untouched, and the client logs once why. It also steps aside
while moto's in-process ``mock_aws`` is active (its stubber is enabled), when ``BaseClient._make_api_call``
is wrapped (ddtrace, OpenTelemetry, the X-Ray SDK), when a proxy, a client certificate or a signature
version other than SigV4 is configured. The classification is redone whenever the client's handlers change
(botocore replaces the emitter's lookup cache on every register/unregister).

The call itself: boto3's transformation (if the client is a resource's), the idempotency token, botocore's
``validate_parameters`` (``ParamValidationError``), the endpoint from the client's endpoint ruleset (cached
per account and table ARN), the JSON body, SigV4 with the client's credentials (refreshable ones refresh), one
POST per attempt, and botocore's own retry handlers deciding retries and delays. A 200 reply is parsed here
(top-level members of the output shape, B values to bytes, ResponseMetadata as botocore builds it); an error
reply is parsed by botocore's own parser and raised as ``client.exceptions.from_code(code)``.
"""

from __future__ import annotations

import base64
import logging
import os
import sys
import threading
import time
import types
import uuid
from typing import Any, cast

import orjson

from ddbkit.accelerate.http import Connection
from ddbkit.core.gcpause import paused_for
from ddbkit.accelerate.resource import Fallback, ShapeCodec
from ddbkit.accelerate.validate import compile_check
from ddbkit.transport.sigv4 import DynamoDBSigner, host_header

__all__ = ["Engine", "EVENTS", "Plan"]

log = logging.getLogger("ddbkit.accelerate")

#: The events botocore emits for one API call (the client's handlers for these are classified).
EVENTS = ("provide-client-params", "before-parameter-build", "before-endpoint-resolution", "before-call",
          "request-created", "choose-signer", "before-sign", "before-send", "response-received", "before-parse",
          "needs-retry", "after-call", "after-call-error")

# botocore's built-in handlers whose work the engine does itself (or that do nothing for DynamoDB)
_REPLACED_FUNCTIONS = frozenset({
    "botocore.handlers.generate_idempotent_uuid", "botocore.handlers._handle_request_validation_mode_member",
    "botocore.handlers.add_recursion_detection_header", "botocore.handlers.inject_api_version_header_if_needed",
    "botocore.handlers.add_retry_headers", "botocore.handlers.set_operation_specific_signer",
    "botocore.handlers._set_auth_scheme_preference_signer", "botocore.handlers.handle_service_name_alias",
    "boto3.dynamodb.transform.copy_dynamodb_params",
    # registered when endpoint discovery is off; it only blocks operations that require discovery, and no
    # DynamoDB data-plane operation does (checked per operation in _classify)
    "botocore.discovery.block_endpoint_discovery_required_operations",
})
_REPLACED_METHODS = frozenset({
    "botocore.signers.RequestSigner.handler", "botocore.useragent.UserAgentString.rebuild_and_replace_user_agent_handler",
})
_RETRY = frozenset({  # on needs-retry: emitted as botocore emits it
    "botocore.retryhandler.RetryHandler.__call__", "botocore.retries.standard.RetryHandler.needs_retry",
    "botocore.retries.adaptive.ClientRateLimiter.on_receiving_response",
})
_AFTER_CALL = frozenset({"botocore.retries.standard.RetryQuotaChecker.release_retry_quota"})
_BEFORE_SEND = frozenset({"botocore.retries.adaptive.ClientRateLimiter.on_sending_request"})
_BOTO3_INJECTOR = "boto3.dynamodb.transform.TransformationInjector"
_MOTO_STUBBER = "moto.core.botocore_stubber.BotocoreStubber.__call__"
#: Handlers that only append to the User-Agent (Powertools registers one on every session once imported).
_USER_AGENT_ONLY = frozenset({"aws_lambda_powertools.shared.user_agent"})
_LEGACY_RETRY = "botocore.retryhandler.RetryHandler.__call__"


def _name(handler: Any) -> tuple[str, Any]:
    """``module.Qualname`` of a handler (a function, a bound method, a callable object) and its instance."""
    owner = getattr(handler, "__self__", None)
    if owner is not None and not isinstance(owner, types.ModuleType):
        cls = type(owner)
        return f"{cls.__module__}.{cls.__qualname__}.{handler.__name__}", owner
    if isinstance(handler, (types.FunctionType, types.BuiltinFunctionType)):
        return f"{handler.__module__}.{handler.__qualname__}", None
    cls = type(handler)
    return f"{cls.__module__}.{cls.__qualname__}.__call__", handler


class Plan:
    """How one operation is sent by one client, from the handlers on its events."""

    __slots__ = ("model", "aside", "injector", "codec", "stubbers", "after_call", "before_send", "retry_quick",
                 "out_members", "valid")

    def __init__(self, model: Any) -> None:
        self.model = model
        self.aside: str | None = None  # why this client steps aside for this operation
        self.injector: Any = None  # boto3's TransformationInjector of a resource's client
        self.codec: ShapeCodec | None = None
        self.stubbers: list[Any] = []  # moto's (inert unless a mock is active)
        self.after_call: list[Any] = []
        self.before_send: list[Any] = []
        self.retry_quick = False  # only the legacy retry handler: a good 200 needs no needs-retry event
        self.out_members = frozenset(model.output_shape.members) if model.output_shape is not None else frozenset()
        self.valid = compile_check(model.input_shape)  # True: botocore's validator would find nothing


def _botocore_call_is_plain() -> str | None:
    import botocore
    from botocore.client import BaseClient

    call = BaseClient.__dict__.get("_make_api_call")
    code = getattr(call, "__code__", None)
    home = os.path.dirname(botocore.__file__)
    if type(call) is not types.FunctionType or code is None or not code.co_filename.startswith(home):
        return "botocore.client.BaseClient._make_api_call is wrapped (instrumentation)"
    return None


class Engine:
    """The accelerated data plane of one botocore DynamoDB client (see the module docstring)."""

    def __init__(self, client: Any) -> None:
        from botocore.client import BaseClient

        self._client = client
        self._base = BaseClient
        meta = client.meta
        self._events = meta.events
        self._hier = getattr(meta.events, "_emitter", meta.events)
        self._config = meta.config
        self._service_model = meta.service_model
        self._lock = threading.Lock()
        self._seen: tuple[Any, Any] | None = None  # (lookup cache, BaseClient._make_api_call) plans are for
        self._plans: dict[str, Plan] = {}
        self._endpoints: dict[Any, tuple[str, str, dict[str, str], DynamoDBSigner, str]] = {}
        self._connections: dict[str, Connection] = {}
        self._logged: set[str] = set()
        self._client_aside = self._client_reason()
        self._user_agent: str | None = None
        self._parser: Any = None
        retries = dict(self._config.retries or {})
        self._max_attempts = retries.get("total_max_attempts") or (
            retries["max_attempts"] + 1 if "max_attempts" in retries else
            (3 if retries.get("mode") in ("standard", "adaptive") else 10))

    # ------------------------------------------------------------------ when to step aside

    def _client_reason(self) -> str | None:
        config = self._config
        from botocore import UNSIGNED

        if config.signature_version is not None and config.signature_version not in ("v4", "s3v4"):
            return "its Config sets signature_version" if config.signature_version is not UNSIGNED \
                else "it is unsigned (signature_version=UNSIGNED)"
        if config.client_cert:
            return "its Config sets client_cert"
        http_session = getattr(self._client._endpoint, "http_session", None)
        proxy_config = getattr(http_session, "_proxy_config", None)
        url = self._client.meta.endpoint_url
        if proxy_config is not None and url and proxy_config.proxy_url_for(url):
            return "a proxy applies to its endpoint"
        return None

    def _classify(self, operation: str) -> Plan:
        model = self._service_model.operation_model(operation)
        plan = Plan(model)
        reason = self._client_aside or _botocore_call_is_plain()
        if (model.endpoint_discovery or {}).get("required"):
            reason = reason or f"{operation} requires endpoint discovery"
        trie = self._hier._handlers
        quick = True
        for event in EVENTS:
            for handler in trie.prefix_search(f"{event}.dynamodb.{operation}"):
                name, owner = _name(handler)
                if name in _REPLACED_FUNCTIONS or name in _REPLACED_METHODS:
                    continue
                if name.rsplit(".", 1)[0] in _USER_AGENT_ONLY or (getattr(handler, "__module__", "") in
                                                                 _USER_AGENT_ONLY):
                    continue
                if event == "needs-retry" and name in _RETRY:
                    quick = quick and name == _LEGACY_RETRY
                    continue
                if event == "after-call" and name in _AFTER_CALL:
                    plan.after_call.append(handler)
                    continue
                if event == "before-send" and name in _BEFORE_SEND:
                    plan.before_send.append(handler)
                    continue
                if event == "before-send" and name == _MOTO_STUBBER:
                    plan.stubbers.append(owner)
                    continue
                if name.startswith(_BOTO3_INJECTOR + ".") and self._plain_injector(owner):
                    if plan.injector is None or plan.injector is owner:
                        plan.injector = owner
                        continue
                reason = reason or f"the client has a handler for {event}: {name}"
        plan.retry_quick = quick
        if plan.injector is not None and reason is None:
            plan.codec = ShapeCodec(model)
        plan.aside = reason
        return plan

    @staticmethod
    def _plain_injector(injector: Any) -> bool:
        from boto3.dynamodb.conditions import ConditionExpressionBuilder
        from boto3.dynamodb.transform import ParameterTransformer
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        return (type(getattr(injector, "_serializer", None)) is TypeSerializer
                and type(getattr(injector, "_deserializer", None)) is TypeDeserializer
                and type(getattr(injector, "_transformer", None)) is ParameterTransformer
                and type(getattr(injector, "_condition_builder", None)) is ConditionExpressionBuilder)

    def plan(self, operation: str) -> Plan:
        seen = (self._hier._lookup_cache, self._base.__dict__.get("_make_api_call"))
        cached = self._seen
        if cached is None or cached[0] is not seen[0] or cached[1] is not seen[1]:
            with self._lock:
                self._plans = {}
                self._seen = seen
        plan = self._plans.get(operation)
        if plan is None:
            plan = self._plans[operation] = self._classify(operation)
        return plan

    def _step_aside(self, reason: str) -> None:
        if reason not in self._logged:
            self._logged.add(reason)
            log.info("ddbkit.accelerate: this DynamoDB client sends through botocore because %s", reason)

    # ------------------------------------------------------------------ the call

    def call(self, operation: str, params: dict[str, Any]) -> tuple[bool, Any]:
        """``(True, result)`` when sent here, ``(False, None)`` when botocore must make the call."""
        plan = self.plan(operation)
        if plan.aside is not None:
            self._step_aside(plan.aside)
            return False, None
        if moto_mock_active() or any(getattr(s, "enabled", False) for s in plan.stubbers):
            return False, None  # moto's mock answers: never leave the process
        return True, self._send(operation, plan, params)

    def _transform_input(self, plan: Plan, params: dict[str, Any]) -> dict[str, Any]:
        codec = plan.codec
        injector = plan.injector
        model = plan.model
        if codec is not None and codec.fast:
            try:
                from boto3.dynamodb.conditions import ConditionBase

                if any(isinstance(params.get(m), ConditionBase) for m in codec.conditions):
                    params = dict(params)
                    for name in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
                        if type(params.get(name)) is dict:
                            params[name] = dict(params[name])
                    injector.inject_condition_expressions(params, model)
                encoded: dict[str, Any] = codec.encode(params) if codec.encode is not None else dict(params)
                return encoded
            except Fallback:
                pass
        from boto3.dynamodb.transform import copy_dynamodb_params

        copied: dict[str, Any] = copy_dynamodb_params(params)
        injector.inject_condition_expressions(copied, model)
        injector.inject_attribute_value_input(copied, model)
        return copied

    def _transform_output(self, plan: Plan, parsed: dict[str, Any], body: bytes) -> dict[str, Any]:
        codec = plan.codec
        if codec is not None and codec.decode is not None:
            try:
                with paused_for(body):  # the resource layer's values hold no cycles either
                    decoded: dict[str, Any] = codec.decode(parsed)
                return decoded
            except Fallback:
                pass
        if _maybe_blobs(body):
            _blobs_to_bytes(parsed)
        plan.injector.inject_attribute_value_output(parsed, plan.model)
        return parsed

    def _endpoint(self, model: Any, params: dict[str, Any], context: dict[str, Any],
                  credentials: Any) -> tuple[str, str, dict[str, str], DynamoDBSigner, str]:
        table = params.get("TableName")
        arn: str | tuple[Any, ...] | None = table if isinstance(table, str) and table.startswith("arn:") else None
        items = params.get("RequestItems")
        if isinstance(items, dict) and any(isinstance(k, str) and k.startswith("arn:") for k in items):
            arn = tuple(items)
        key = (model.name if arn else None, arn, getattr(credentials, "account_id", None))
        found = self._endpoints.get(key)
        if found is None:
            client = self._client
            if getattr(client, "_ruleset_resolver", None) is None:
                url, extra = client.meta.endpoint_url, {}
            else:
                url, extra, _props = client._resolve_endpoint_ruleset(model, params, context)
            region = (context.get("signing") or {}).get("region") or client.meta.region_name
            from urllib.parse import urlsplit

            path = urlsplit(url).path or "/"
            signer = DynamoDBSigner(host_header(url), region, path=path)
            found = self._endpoints[key] = (url, region, dict(extra or {}), signer, path)
        return found

    def _connection(self, url: str) -> Connection:
        conn = self._connections.get(url)
        if conn is None:
            with self._lock:
                conn = self._connections.get(url)
                if conn is None:
                    config = self._config
                    verify = getattr(getattr(self._client._endpoint, "http_session", None), "_verify", True)
                    conn = self._connections[url] = Connection(
                        url, connect_timeout=config.connect_timeout, read_timeout=config.read_timeout,
                        max_pool=config.max_pool_connections, verify=verify)
        return conn

    def _agent(self) -> str:
        if self._user_agent is None:
            creator = getattr(self._client, "_user_agent_creator", None)
            try:
                agent = creator.to_string() if creator is not None else None
            except Exception:  # noqa: BLE001 - an older botocore: its plain user_agent string
                agent = None
            if not agent:
                agent = self._config.user_agent or "Botocore"
                if self._config.user_agent_extra:
                    agent = f"{agent} {self._config.user_agent_extra}"
            self._user_agent = f"{agent} md/ddbkit#accelerate"
        return self._user_agent

    def _send(self, operation: str, plan: Plan, params: dict[str, Any]) -> Any:
        client = self._client
        model = plan.model
        config = self._config
        context: dict[str, Any] = {"client_region": client.meta.region_name, "client_config": config,
                                   "has_streaming_input": False, "auth_type": model.resolved_auth_type}
        if plan.injector is not None:
            params = self._transform_input(plan, params)
        for name in model.idempotent_members:
            if name not in params:
                params[name] = str(uuid.uuid4())
        if config.parameter_validation and not plan.valid(params):
            from botocore.validate import validate_parameters

            validate_parameters(params, model.input_shape)
        credentials = client._request_signer._credentials
        if credentials is None:
            from botocore.exceptions import NoCredentialsError

            raise NoCredentialsError()
        frozen = credentials.get_frozen_credentials()
        url, _region, extra, signer, path = self._endpoint(model, params, context, frozen)
        body = orjson.dumps(params, default=_b64)
        if _maybe_blobs(body) and _has_text_blobs(params):  # botocore sends a str blob as its UTF-8 bytes
            body = orjson.dumps(_text_blobs_to_bytes(params), default=_b64)
        target = "DynamoDB_20120810." + operation
        invocation = str(uuid.uuid4())
        agent = self._agent()
        conn = self._connection(url)
        attempts = 1
        request_dict: dict[str, Any] | None = None
        while True:
            for handler in plan.before_send:
                handler(request=None)
            if attempts > 1:
                frozen = credentials.get_frozen_credentials()
            headers = signer.headers(target, body, frozen.access_key, frozen.secret_key, frozen.token)
            headers["User-Agent"] = agent
            headers["Accept-Encoding"] = "identity"  # x-amz-crc32 is over the bytes as sent
            headers["amz-sdk-invocation-id"] = invocation
            # as botocore's add_retry_headers: the retry handler learns "max" after the first attempt
            headers["amz-sdk-request"] = f"attempt={attempts}; max={self._max_attempts}" if attempts > 1 \
                else "attempt=1"
            trace = lambda_trace_id()
            if trace:
                headers["X-Amzn-Trace-Id"] = trace
            if extra:
                headers.update(extra)
            status = 0
            reply: dict[str, str] = {}
            data = b""
            parsed: dict[str, Any] | None = None
            failure: Exception | None = None
            try:
                status, reply, data = conn.exchange(path, body, headers)
            except Exception as err:  # noqa: BLE001 - botocore's exceptions, judged by its retry handlers
                failure = err
            http: Any = None
            if failure is None:
                crc = reply.get("x-amz-crc32")
                if status == 200 and plan.retry_quick and (crc is None or _crc_ok(crc, data)):
                    parsed = self._parse_ok(plan, status, reply, data)
                    break
                http = _aws_response(url, status, reply, data)
                parsed = self._parse_ok(plan, status, reply, data) if status < 300 else \
                    self._parse_error(model, http)
            if request_dict is None:
                context["retries"] = {"attempt": attempts, "invocation-id": invocation}
                request_dict = {"context": context, "url_path": path, "query_string": "", "method": "POST",
                                "headers": {}, "body": body, "url": url}
            context["retries"]["attempt"] = attempts
            responses = self._events.emit(
                f"needs-retry.dynamodb.{operation}", response=None if failure is not None else (http, parsed),
                endpoint=client._endpoint, operation=model, attempts=attempts, caught_exception=failure,
                request_dict=request_dict)
            delay = next((r for r in responses if r[1] is not None), (None, None))[1]
            if delay is None:
                if failure is not None:
                    raise failure
                break
            time.sleep(delay)
            attempts += 1
        assert parsed is not None
        meta = parsed.get("ResponseMetadata")
        if isinstance(meta, dict):
            meta["RetryAttempts"] = attempts - 1
        if plan.after_call:
            if http is None:
                http = _aws_response(url, status, reply, data)
            for handler in plan.after_call:
                handler(http_response=http, parsed=parsed, model=model, context=context)
        if status >= 300:
            code = parsed.get("Error", {}).get("Code")
            raise client.exceptions.from_code(code)(parsed, operation)
        if plan.injector is not None:
            parsed = self._transform_output(plan, parsed, data)
        return parsed

    def _parse_ok(self, plan: Plan, status: int, headers: dict[str, str], data: bytes) -> dict[str, Any]:
        try:
            with paused_for(data):
                loaded = orjson.loads(data) if data else {}
        except orjson.JSONDecodeError:
            import json

            loaded = json.loads(data.decode("utf-8"))  # what botocore's parser would make of it (or raise)
        members = plan.out_members
        parsed = {k: v for k, v in loaded.items() if k in members and v is not None}
        if plan.codec is None and _maybe_blobs(data):
            _blobs_to_bytes(parsed)
        meta: dict[str, Any] = {}
        if "x-amzn-requestid" in headers:
            meta["RequestId"] = headers["x-amzn-requestid"]
        meta["HTTPStatusCode"] = status
        meta["HTTPHeaders"] = headers
        parsed["ResponseMetadata"] = meta
        return parsed

    def _parse_error(self, model: Any, http: Any) -> dict[str, Any]:
        from botocore.endpoint import convert_to_response_dict

        endpoint = self._client._endpoint
        if self._parser is None:
            self._parser = endpoint._response_parser_factory.create_parser(
                model.service_model.resolved_protocol if hasattr(model.service_model, "resolved_protocol")
                else model.metadata["protocol"])
        response_dict = convert_to_response_dict(http, model)
        parsed: dict[str, Any] = self._parser.parse(response_dict, model.output_shape)
        endpoint._add_modeled_error_fields(response_dict, parsed, model, self._parser)
        return parsed

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()


def moto_mock_active() -> bool:
    """True while moto's in-process ``mock_aws`` is active (as ddbkit.transport.wire's function of the same
    name; not imported from there, see ddbkit/accelerate/http.py on the cold start)."""
    models = sys.modules.get("moto.core.models")
    mock = getattr(models, "MockAWS", None) if models is not None else None
    return bool(getattr(mock, "_nested_count", 0))


def lambda_trace_id() -> str | None:
    """``X-Amzn-Trace-Id`` as botocore's recursion-detection handler sets it: inside Lambda only, from
    ``_X_AMZN_TRACE_ID``, quoted the same way (as ddbkit.transport.wire's function of the same name)."""
    trace = os.environ.get("_X_AMZN_TRACE_ID")
    if not trace or "AWS_LAMBDA_FUNCTION_NAME" not in os.environ:
        return None
    from urllib.parse import quote

    return quote(trace, safe="-=;:+&[]{}\"',")


def _aws_response(url: str, status: int, headers: dict[str, str], data: bytes) -> Any:
    from botocore.awsrequest import AWSResponse

    # a plain header dict, as botocore's own endpoint reads it (the stubs want HTTPHeaders; the code takes any mapping)
    response: Any = cast(Any, AWSResponse)(url, status, headers, None)
    response._content = data  # the body is already read: AWSResponse.content returns it as is
    return response


def _crc_ok(crc: str, data: bytes) -> bool:
    import zlib

    return crc.isdigit() and int(crc) == zlib.crc32(data) & 0xFFFFFFFF


def _b64(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _maybe_blobs(data: bytes) -> bool:
    """False when the JSON certainly holds no B / BS attribute value (the key token never occurs)."""
    return b'"B"' in data or b'"BS"' in data


def _has_text_blobs(value: Any) -> bool:
    if type(value) is dict:
        if len(value) == 1:
            b = value.get("B")
            if isinstance(b, str):
                return True
            bs = value.get("BS")
            if isinstance(bs, list) and any(isinstance(v, str) for v in bs):
                return True
        return any(_has_text_blobs(v) for k, v in value.items() if k != "ExpressionAttributeNames")
    if type(value) is list or type(value) is tuple:
        return any(_has_text_blobs(v) for v in value)
    return False


def _text_blobs_to_bytes(value: Any) -> Any:
    if type(value) is dict:
        if len(value) == 1:
            b = value.get("B")
            if isinstance(b, str):
                return {"B": b.encode("utf-8")}
            bs = value.get("BS")
            if isinstance(bs, list):
                return {"BS": [v.encode("utf-8") if isinstance(v, str) else v for v in bs]}
        return {k: (v if k == "ExpressionAttributeNames" else _text_blobs_to_bytes(v)) for k, v in value.items()}
    if type(value) is list or type(value) is tuple:
        return [_text_blobs_to_bytes(v) for v in value]
    return value


def _blobs_to_bytes(value: Any) -> None:
    """B / BS values (base64 text in the JSON) to bytes in place, as botocore's blob parser makes them."""
    if type(value) is dict:
        for k, v in value.items():
            if type(v) is str:
                if k == "B" and len(value) == 1:
                    value[k] = base64.b64decode(v)
            elif type(v) is list:
                if k == "BS" and len(value) == 1 and all(type(x) is str for x in v):
                    value[k] = [base64.b64decode(x) for x in v]
                else:
                    for x in v:
                        _blobs_to_bytes(x)
            elif type(v) is dict:
                _blobs_to_bytes(v)
    elif type(value) is list:
        for x in value:
            _blobs_to_bytes(x)
