"""Reaching DynamoDB clients: the ``creating-client-class.dynamodb`` hook and its undo.

botocore emits ``creating-client-class.<service>`` on the session's emitter while it builds a client class,
with the list of base classes the class will get. :func:`accelerate` registers a handler that puts
:class:`ddbkit.accelerate.client.AcceleratedClient` before ``BaseClient`` in that list:

* ``accelerate()``: appended to ``botocore.handlers.BUILTIN_HANDLERS`` (every botocore session created
  afterwards registers it, as moto does for its stubber) and registered on ``boto3.DEFAULT_SESSION`` if that
  already exists;
* ``accelerate(session)``: registered on that session only (a ``boto3.Session`` or a botocore session).

Undo (:meth:`Acceleration.close`) unregisters the handler and turns the handle off: clients that were built
accelerated check :attr:`Acceleration.active` per call and send through botocore once it is False.
Only synchronous botocore clients are accelerated (aiobotocore's async client classes are left alone).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from ddbkit.accelerate.client import ACCELERATED_OPERATIONS, AcceleratedClient

__all__ = ["ACCELERATED_OPERATIONS", "Acceleration", "accelerate", "is_accelerated"]

_EVENT = "creating-client-class.dynamodb"
_LOCK = threading.Lock()


class Acceleration:
    """The handle :func:`accelerate` returns: ``close()`` (or leaving a ``with`` block) undoes it.

    ``active`` is read by every accelerated client on every call, so undo takes effect at once, also for
    clients that already exist. ``scope`` is ``"process"`` or ``"session"``.
    """

    def __init__(self, session: Any = None) -> None:
        self.active = True
        self.scope = "process" if session is None else "session"
        self._session = session
        self._unique_id = f"ddbkit-accelerate-{uuid.uuid4().hex}"
        self._registered: list[Any] = []  # botocore sessions this handle registered its handler on

    def on_creating_client_class(self, class_attributes: dict[str, Any], base_classes: list[type],
                                 **_kwargs: Any) -> None:
        """The ``creating-client-class.dynamodb`` handler: make the class an accelerated client."""
        if not self.active:
            return
        from botocore.client import BaseClient

        # only botocore's synchronous client: aiobotocore's list holds AioBaseClient (its calls are coroutines)
        if BaseClient not in base_classes or AcceleratedClient in base_classes:
            return  # not botocore's sync client, or already accelerated by a second handle
        base_classes.insert(base_classes.index(BaseClient), AcceleratedClient)
        class_attributes["_ddbkit_acceleration"] = self

    def _register(self, botocore_session: Any) -> None:
        botocore_session.register(_EVENT, self.on_creating_client_class, unique_id=self._unique_id)
        self._registered.append(botocore_session)

    def close(self) -> None:
        """Undo: no new client is accelerated and existing accelerated clients send through botocore."""
        with _LOCK:
            if not self.active:
                return
            self.active = False
            import botocore.handlers

            spec = (_EVENT, self.on_creating_client_class)
            if spec in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.remove(spec)
            for session in self._registered:
                session.unregister(_EVENT, unique_id=self._unique_id)
            self._registered.clear()

    def __enter__(self) -> Acceleration:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Acceleration(scope={self.scope!r}, active={self.active})"


def _botocore_session(session: Any) -> Any:
    return getattr(session, "_session", session)  # boto3.Session wraps a botocore session


def accelerate(session: Any = None) -> Acceleration:
    """Send the DynamoDB data plane of boto3/botocore clients through ddbkit's fast transport.

    Without ``session``: every DynamoDB client created from now on, by any botocore session (boto3's default
    session, a ``boto3.Session``, a bare botocore session). With ``session`` (a ``boto3.Session`` or a
    botocore session): clients that session creates from now on. Clients created before the call are not
    changed. Returns an :class:`Acceleration`; ``close()`` it (or use it as a context manager) to undo.
    """
    handle = Acceleration(session)
    with _LOCK:
        if session is None:
            import boto3
            import botocore.handlers

            botocore.handlers.BUILTIN_HANDLERS.append((_EVENT, handle.on_creating_client_class))
            if boto3.DEFAULT_SESSION is not None:
                handle._register(boto3.DEFAULT_SESSION._session)
        else:
            handle._register(_botocore_session(session))
    return handle


def is_accelerated(client: Any) -> bool:
    """True if ``client`` (a botocore DynamoDB client, or a boto3 resource / ``Table``) sends its data plane
    through ddbkit: it was built while :func:`accelerate` was in effect and that has not been undone. A
    client can still step aside per call (an active test double or instrumentation; see docs/accelerate.md)."""
    client = getattr(getattr(client, "meta", None), "client", client)  # a resource or Table: its client
    handle = getattr(type(client), "_ddbkit_acceleration", None)
    return isinstance(handle, Acceleration) and handle.active
