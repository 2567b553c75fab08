import uuid

from overcast.ids import request_id


def test_request_ids_are_canonical_version_4_uuids() -> None:
    for _ in range(500):
        text = request_id()
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_request_ids_do_not_repeat() -> None:
    assert len({request_id() for _ in range(2000)}) == 2000
