"""``amz-sdk-invocation-id`` (``ddbkit.transport.wire.invocation_id``): botocore's form (a UUID4 string), unique
per request in a process, and not repeated by a forked child."""

from __future__ import annotations

import os
import uuid

from ddbkit.transport.wire import invocation_id


def test_ids_are_uuid4_strings_and_unique() -> None:
    ids = [invocation_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:50]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id, then leave without running the test session's teardown
        os.write(write, invocation_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    mine = invocation_id()
    assert uuid.UUID(child).version == 4 and child[:24] != mine[:24]
