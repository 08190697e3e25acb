"""The one region rule: which AWS region a client is for when none is passed.

boto3 reads only ``AWS_DEFAULT_REGION``; most containers, shells and AWS's own runtimes (Lambda, ECS,
CodeBuild) set ``AWS_REGION``. ddbkit follows the AWS CLI v2's precedence, everywhere a region is needed
(:class:`~ddbkit.Table`, :class:`~ddbkit.aio.AsyncTable`, ``from_env``, every transport, bulk workers, the
backup Lambda entrypoint, every ``ddbkit`` command):

1. the explicit argument (``region_name=``, ``--region``), or a region given to the session itself
   (``boto3.Session(region_name=...)``);
2. ``AWS_REGION``;
3. ``AWS_DEFAULT_REGION``;
4. the profile's ``region`` in the AWS config file (``AWS_PROFILE`` / ``--profile``).

None of them: :func:`resolve_region` returns None and the client fails with
:class:`~ddbkit.errors.NoRegionError` rather than guess. Imports nothing until a session must be asked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

__all__ = ["resolve_region"]


def resolve_region(region_name: str | None = None, session: Any = None, *,
                   environ: Mapping[str, str] | None = None) -> str | None:
    """The region for a client: ``region_name``, else the session's own region, else ``AWS_REGION``, else
    ``AWS_DEFAULT_REGION``, else the profile's region in the config file; None when there is none.

    ``session`` is a boto3, aioboto3 or botocore Session, or None (boto3's default session, if one was set
    up; else a fresh botocore session reads the config file only when the environment has no region).
    """
    if region_name:
        return region_name
    env = os.environ if environ is None else environ
    bs = _botocore_session(session)
    if bs is not None:
        given = _lookup(bs, "instance")
        if given:
            return str(given)
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        value = env.get(var, "").strip()
        if value:
            return value
    if bs is None:
        import botocore.session

        bs = botocore.session.get_session()
    configured = _lookup(bs, "config")
    return str(configured) if configured else None


def _lookup(bs: Any, method: str) -> Any:
    """botocore's ``region`` from one of its sources (``instance``: given to the session; ``config``: the
    profile's). A session-like object without per-source lookups answers with its one value, as the config."""
    try:
        return bs.get_config_variable("region", methods=(method,))
    except TypeError:
        return bs.get_config_variable("region") if method == "config" else None


def _botocore_session(session: Any) -> Any:
    """The botocore session behind ``session``; None: boto3's default session if it exists (never made here)."""
    if session is None:
        import sys

        boto3 = sys.modules.get("boto3")
        session = getattr(boto3, "DEFAULT_SESSION", None) if boto3 is not None else None
        if session is None:
            return None
    return getattr(session, "_session", session)
