"""Template topics as a node or a platform stage creates them."""

from __future__ import annotations

from pathlib import Path

import pytest

from overcast.control.sns_api import TemplateTopicError, create_template_topics
from overcast.events.sns_store import SnsStore
from overcast.template.sns_topics import SubscriptionSpec, TopicSpec

QUEUE = "arn:aws:sqs:us-east-1:123456789012:audit"


def test_template_topics_on_a_platform_invoke_the_stages_functions(tmp_path: Path) -> None:
    store = SnsStore(tmp_path / "topics.sqlite3")
    function = "arn:aws:lambda:us-east-1:123456789012:function:OnOrder"
    topic = TopicSpec(
        "Orders",
        "orders-dev",
        subscriptions=(
            SubscriptionSpec("lambda", function),
            SubscriptionSpec("lambda", function + ":live"),
            SubscriptionSpec("sqs", QUEUE),
        ),
    )
    create_template_topics(store, [topic], origin="template:dev/shop", qualifier="dev")
    assert sorted(s.endpoint for s in store.subscriptions("orders-dev")) == [
        function + ":dev", function + ":live", QUEUE,
    ]  # fmt: skip
    store.close()


def test_a_template_topics_malformed_filter_policy_is_refused_at_start(tmp_path: Path) -> None:
    store = SnsStore(tmp_path / "topics.sqlite3")
    bad = SubscriptionSpec("sqs", QUEUE, {"FilterPolicy": '{"a": "not a list"}'})
    with pytest.raises(TemplateTopicError, match="Topic 'Orders' \\(orders\\)"):
        create_template_topics(store, [TopicSpec("Orders", "orders", subscriptions=(bad,))])
    store.close()
