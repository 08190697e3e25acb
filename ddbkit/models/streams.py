"""A stream processor generic in its model type: handlers receive models, not dicts.

    class Audit(ModelStreamProcessor[Session]):
        def on_insert_model(self, new: Session, record: StreamRecord) -> None: ...

    handler = Audit(Session).handler

Images are converted with ``record.new_as``/``old_as`` (so a :class:`ddbkit.Model`'s aliases, epoch and
ISO fields apply); a record whose image does not validate fails like any handler error (see
:mod:`ddbkit.streams.processors` for failure modes and the dead-letter hook).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from ddbkit.models.base import Model
from ddbkit.streams.records import StreamRecord
from ddbkit.streams.processors import StreamProcessor

__all__ = ["ModelStreamProcessor"]

M = TypeVar("M", bound=Model)


class ModelStreamProcessor(StreamProcessor, Generic[M]):
    """Per-record processor over models of type ``M``: override ``on_insert_model``, ``on_modify_model``,
    ``on_remove_model`` (TTL deletions go to ``on_ttl_expiry_model``, by default ``on_remove_model``)."""

    def __init__(self, model: type[M], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model_type = model

    def on_insert(self, record: StreamRecord) -> None:
        new = record.new_as(self.model_type)
        if new is not None:
            self.on_insert_model(new, record)

    def on_modify(self, record: StreamRecord) -> None:
        new = record.new_as(self.model_type)
        if new is not None:
            self.on_modify_model(record.old_as(self.model_type), new, record)

    def on_remove(self, record: StreamRecord) -> None:
        self.on_remove_model(record.old_as(self.model_type), record)

    def on_ttl_expiry(self, record: StreamRecord) -> None:
        self.on_ttl_expiry_model(record.old_as(self.model_type), record)

    def on_insert_model(self, new: M, record: StreamRecord) -> None:
        """A new item as a model."""

    def on_modify_model(self, old: M | None, new: M, record: StreamRecord) -> None:
        """A changed item (``old`` is None when the stream view has no old image)."""

    def on_remove_model(self, old: M | None, record: StreamRecord) -> None:
        """A deleted item (``old`` is None when the stream view has no old image)."""

    def on_ttl_expiry_model(self, old: M | None, record: StreamRecord) -> None:
        """An item deleted by TTL; defaults to :meth:`on_remove_model`."""
        self.on_remove_model(old, record)
