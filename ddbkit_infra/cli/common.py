"""Shared CLI helpers: one error format, one region rule, AWS options, loading a component file, output.

Every command reports a failure as ``error: <what>: <why>`` on stderr (``<what>`` names the table or
file) and exits with :data:`EXIT_FAILURE`; usage mistakes exit :data:`EXIT_USAGE`. Every command that talks
to AWS takes ``--region`` and ``--profile`` and follows one region rule (:func:`resolve_region`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import click

from ddbkit.config import ComponentFile, ConfigError, load_component_file

#: Exit codes of every command (``ddbkit --help`` lists them).
EXIT_OK = 0
EXIT_FAILURE = 1  # a finding (validate, audit, plan refusal) or a failed operation
EXIT_USAGE = 2  # the command line itself is wrong (click's own usage errors use 2 as well)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as a shell reports it

EXIT_CODES_HELP = ("Exit codes: 0 ok; 1 findings (invalid config, failed audit control, refused change) or a "
                   "failed operation; 2 usage error (plan --detailed-exitcode: 2 means changes pending; a "
                   "destructive change with no terminal to ask on and no --yes); 130 interrupted (Ctrl-C).")

REGION_HELP = ("AWS region (default: AWS_REGION, else AWS_DEFAULT_REGION, else the profile's region; "
               "no region: the command fails).")
PROFILE_HELP = "AWS named profile for credentials and region (default: AWS_PROFILE, else the default chain)."

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``code``."""
    text = message if message.startswith("error: ") else f"error: {message}"
    click.secho(text, fg="red", err=True)
    raise SystemExit(code)


def load_or_exit(path: str) -> ComponentFile:
    """Load a component file, or print every config error (with YAML lines) and exit 1."""
    try:
        return load_component_file(path)
    except ConfigError as err:
        fail(str(err))


def dump(data: Any, fmt: str) -> str:
    """Render ``data`` as ``json`` or ``yaml``."""
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=False, default=str)
    import yaml

    class NoAliasDumper(yaml.SafeDumper):
        """Writes a shared list twice rather than as ``&id001``/``*id001`` (CloudFormation rejects aliases)."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    return str(yaml.dump(data, Dumper=NoAliasDumper, sort_keys=False, default_flow_style=False))


# --------------------------------------------------------------------------------------------------
# Consent and interruption
# --------------------------------------------------------------------------------------------------


def interactive() -> bool:
    """Whether a person can be asked: stdin AND stdout are terminals (``| tee log``, ``< answers`` and CI
    are not). Tests replace this (``provision_cmds.interactive`` for plan/apply/destroy)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def consent(question: str, what: str, yes: bool, *, ask: bool | None = None) -> None:
    """Go on only with consent: ``--yes``, or a y at the prompt on a terminal (``ask``: whether one is there,
    default :func:`interactive`). No terminal and no --yes: one ``error:`` line naming --yes, exit 2.
    A no: ``error: <what>: cancelled, nothing changed``, exit 1."""
    if yes:
        return
    if not (interactive() if ask is None else ask):
        fail(f"{what}: refused: no terminal to ask on (stdin or stdout is not one); pass --yes to proceed",
             EXIT_USAGE)
    if not click.confirm(f"{question}?", default=False):
        fail(f"{what}: cancelled, nothing changed")


def listing(items: list[str], limit: int = 4) -> str:
    """``a, b, c and 3 more`` (``nothing`` when empty): a list on one line."""
    if not items:
        return "nothing"
    head = ", ".join(items[:limit])
    return head + (f" and {len(items) - limit} more" if len(items) > limit else "")


@contextmanager
def interrupts(command: str, report: Callable[[], tuple[list[str], list[str]]]) -> Iterator[None]:
    """Ctrl-C inside: ONE line, ``error: <command>: interrupted: done: ...; not done: ...; ...``, exit 130.

    ``report()`` returns (what was done, what was not) at that moment. Every command using this converges
    when run again (apply and destroy plan from the live state; backup calls are requests AWS goes on with)."""
    try:
        yield
    except KeyboardInterrupt:
        done, not_done = report()
        fail(f"{command}: interrupted (Ctrl-C): done: {listing(done)}; not done: {listing(not_done)}; "
             "run the same command again to finish", EXIT_INTERRUPTED)


# --------------------------------------------------------------------------------------------------
# AWS options and the region rule
# --------------------------------------------------------------------------------------------------


def aws_options(func: F) -> F:
    """``--region`` and ``--profile`` (every command that talks to AWS)."""
    func = click.option("--profile", default=None, help=PROFILE_HELP)(func)
    return click.option("--region", default=None, help=REGION_HELP)(func)


def session(region: str | None, profile: str | None) -> Any:
    """A boto3 session for ``--profile``/``--region`` (an unknown profile is an error naming it)."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        fail(f"--profile {profile}: no such AWS profile in your AWS config", EXIT_USAGE)


def known_region(region: str | None, profile: str | None = None) -> str | None:
    """The region when one is known without asking AWS: ``--region``, else ``AWS_REGION``, else
    ``AWS_DEFAULT_REGION`` / the profile's region (botocore's session); None when none is set."""
    import os

    return region or os.environ.get("AWS_REGION") or session(None, profile).region_name or None


def resolve_region(region: str | None, profile: str | None = None) -> str:
    """The one region rule (:func:`ddbkit.core.region.resolve_region`, the AWS CLI v2's precedence): ``--region``,
    else ``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else the profile's region; else fail naming them."""
    from ddbkit.core.region import resolve_region as region_rule

    found = region or region_rule(None, session(None, profile))
    if not found:
        fail("no AWS region: pass --region REGION or set AWS_REGION (or a region in your AWS profile)", EXIT_USAGE)
    return str(found)


def client(service: str, region: str, profile: str | None, endpoint_url: str | None) -> Any:
    """A boto3 client in ``region`` (resolved), for ``profile``, at ``endpoint_url`` (local emulators)."""
    return session(region, profile).client(service, region_name=region, endpoint_url=endpoint_url)


# --------------------------------------------------------------------------------------------------
# One error format
# --------------------------------------------------------------------------------------------------

_THROTTLED = {"ThrottlingException", "Throttling", "ProvisionedThroughputExceededException",
              "RequestLimitExceeded", "TooManyRequestsException", "LimitExceededException"}
_DENIED = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "UnrecognizedClientException",
           "InvalidClientTokenId", "ExpiredTokenException", "ExpiredToken", "InvalidSignatureException",
           "SignatureDoesNotMatch", "MissingAuthenticationTokenException"}


def _client_error_code(err: BaseException) -> tuple[str, str] | None:
    response = getattr(err, "response", None)
    if not isinstance(response, dict):
        return None
    error = response.get("Error") or {}
    return str(error.get("Code") or ""), str(error.get("Message") or "")


def _check_region(region: str | None) -> str:
    return f"check the region ({region or 'none set'}) and the endpoint URL"


def explain(err: BaseException, region: str | None = None, endpoint: str | None = None) -> str:
    """The ``<why>`` of an AWS/ddbkit error, in words, without botocore's prefixes.

    A reply with no AWS error code (botocore then uses the bare HTTP status: an emulator's HTML 500 page for
    a region it does not know, a proxy) and a connection that cannot be made name the region and the
    endpoint and say to check the region; a server's body is never printed."""
    from botocore.exceptions import (
        BotoCoreError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    cause = err
    while cause.__cause__ is not None and _client_error_code(cause) is None \
            and not isinstance(cause, BotoCoreError):
        cause = cause.__cause__  # a ddbkit error wrapping the AWS one: classify by the AWS error
    coded = _client_error_code(cause)
    if coded is not None:
        code, message = coded
        where = f" in {region}" if region else ""
        if code.isdigit():
            at = f'"{endpoint}"' if endpoint else f"the AWS endpoint of {region or 'the region'}"
            return f"HTTP {code} from {at} is not an AWS reply (body withheld): {_check_region(region)}"
        if code == "ResourceNotFoundException":
            return f"not found{where} ({message or code})"
        if code in _DENIED:
            return f"access denied ({code}: {message})" if message else f"access denied ({code})"
        if code in _THROTTLED:
            return f"throttled by AWS ({code}); retry later or raise the table's capacity"
        if code == "ResourceInUseException":
            return f"busy or already exists ({message or code})"
        return f"{code}: {message}" if message else code
    if isinstance(cause, NoRegionError):
        return "no AWS region: pass --region REGION or set AWS_REGION"
    if isinstance(cause, (NoCredentialsError, PartialCredentialsError)):
        return ("no AWS credentials: pass --profile NAME or set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY")
    if isinstance(cause, EndpointConnectionError):
        url = getattr(cause, "kwargs", {}).get("endpoint_url") or endpoint or "the endpoint"
        return f"cannot connect to {url}: {_check_region(region)}"
    return str(err)


@contextmanager
def errors(what: str, region: str | None = None, endpoint: str | None = None) -> Iterator[None]:
    """Turn config, ddbkit, provisioning and AWS errors into ``error: <what>: <why>`` and exit 1."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ddbkit.errors import DdbkitError

    try:
        yield
    except ConfigError as err:
        fail(str(err))
    except (ClientError, BotoCoreError, DdbkitError) as err:
        fail(f"{what}: {explain(err, region, endpoint)}")
