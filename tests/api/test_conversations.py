"""The vendor's Conversations: lists, one conversation, its messages, and X-Exclude-PII."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from tests.conftest import KEY, OTHER, Api

ENGAGEMENTS_ONLY = "ENGAGEMENTS_ONLY_API_KEY"


def test_the_vendors_example_requests_answer_their_documented_shapes(api: Api) -> None:
    r = api.get("/v1/conversations?channelId=ch_whatsapp&page=1&pageSize=10")
    assert r.status == 200 and set(r.json) == {"data", "page", "pageSize", "totalCount"}
    assert r.json["pageSize"] == 10 and {c["channelId"] for c in r.json["data"]} == {"ch_whatsapp"}
    masked = api.get("/v1/conversations/conv_123/messages", headers={"X-Exclude-PII": "true"})
    assert masked.status == 200 and masked.json["conversationId"] == "conv_123"
    assert masked.json["messages"][0] == {
        "id": "msg_001",
        "role": "customer",
        "content": "Hi, I need help with my account ending in ****",
        "timestamp": "2024-01-15T10:30:00Z",
    }


def test_every_conversation_counts_its_messages_and_names_a_campaign(api: Api) -> None:
    for key in (KEY, OTHER):
        for conversation in api.get("/v1/conversations?pageSize=100", key=key).json["data"]:
            messages = api.get(f"/v1/conversations/{conversation['id']}/messages", key=key).json["messages"]
            assert len(messages) == conversation["messageCount"]
            assert messages[0]["timestamp"] == conversation["startedAt"]
            assert conversation["endedAt"] in {messages[-1]["timestamp"], None}
            assert (conversation["endedAt"] is None) == (conversation["status"] == "active")
            assert [m["timestamp"] for m in messages] == sorted(m["timestamp"] for m in messages)
            assert [m["id"] for m in messages] == [f"msg_{n:03d}" for n in range(1, len(messages) + 1)]
            sides = {"business" if m["role"] in {"agent", "bot"} else m["role"] for m in messages}
            assert conversation["participantCount"] == len(sides) == 2  # as the vendor's conv_123 counts them
            assert api.get(f"/v1/campaigns/{conversation['campaignId']}", key=key).status == 200


def test_generated_chats_read_like_customer_care_on_whatsapp(api: Api) -> None:
    listed = api.get("/v1/conversations?campaignId=camp_456&pageSize=100").json["data"]
    generated = [c for c in listed if c["id"] not in {f"conv_{n}" for n in range(123, 128)}]
    assert len(generated) == 24 and {c["channelId"] for c in generated} == {"ch_whatsapp"}
    for conversation in generated:
        messages = api.get(f"/v1/conversations/{conversation['id']}/messages").json["messages"]
        assert messages[0]["role"] == "customer" and messages[1]["role"] == "bot"  # the customer writes first
        assert {m["role"] for m in messages[2:]} <= {"customer", "agent"}  # then a person takes over
        assert all(m["content"] and "{" not in m["content"] for m in messages)
        minutes = datetime.fromisoformat(messages[-1]["timestamp"]) - datetime.fromisoformat(messages[0]["timestamp"])
        assert minutes.total_seconds() < 3600, "a chat, not a thread over days"
    # generated chats hold personal data too, which X-Exclude-PII masks
    masked = [
        m["content"]
        for c in generated
        for m in api.get(f"/v1/conversations/{c['id']}/messages", headers={"X-Exclude-PII": "true"}).json["messages"]
    ]
    assert any("****" in text for text in masked) and not any("@" in text for text in masked)


def test_exclude_pii_masks_emails_phones_cards_and_account_endings_and_nothing_else(api: Api) -> None:
    plain = {m["id"]: m["content"] for m in api.get("/v1/conversations/conv_123/messages").json["messages"]}
    masked = {
        m["id"]: m["content"]
        for m in api.get("/v1/conversations/conv_123/messages", headers={"X-Exclude-PII": "true"}).json["messages"]
    }
    assert plain["msg_003"] == "Sure, it's maria.gomez@example.com" and masked["msg_003"] == "Sure, it's ****"
    assert masked["msg_008"] == "Great. Can you also update my phone number to ****?"
    changed = {i for i in plain if plain[i] != masked[i]}
    assert changed == {"msg_001", "msg_003", "msg_008"}  # "3 to 5 business days", "1 to 5" stay
    card = api.get("/v1/conversations/conv_125/messages", headers={"X-Exclude-PII": "true"}).json
    assert card["messages"][0]["content"] == "I want to dispute a charge on my card ****"
    order = api.get("/v1/conversations/conv_124/messages", headers={"X-Exclude-PII": "true"}).json
    assert [m["content"] for m in order["messages"]][:3] == [
        "Hello, my order 58213 has not arrived yet",
        "Sorry to hear that. Let me check order 58213 for you.",
        "It left our warehouse on 2024-01-16 and should arrive tomorrow.",
    ]


def test_exclude_pii_false_shows_everything_and_another_value_is_a_400(api: Api) -> None:
    shown = api.get("/v1/conversations/conv_126/messages", headers={"X-Exclude-PII": "false"}).json
    assert "020 7946 0958" in shown["messages"][2]["content"]
    r = api.get("/v1/conversations/conv_126/messages", headers={"X-Exclude-PII": "yes"})
    assert r.status == 400 and r.json["error"]["details"][0]["field"] == "header.X-Exclude-PII"


@pytest.mark.parametrize(
    ("query", "keep", "written"),
    [
        ("status=completed", lambda c: c["status"] == "completed", {"conv_123", "conv_124", "conv_126"}),
        ("campaignId=camp_15", lambda c: c["campaignId"] == "camp_15", {"conv_125", "conv_126"}),
        (
            "dateFrom=2024-01-18&dateTo=2024-01-21",
            lambda c: "2024-01-18" <= c["startedAt"][:10] <= "2024-01-21",
            {"conv_124", "conv_125"},
        ),
    ],
)
def test_filters_select_the_conversations_they_name(
    api: Api, query: str, keep: Callable[[dict[str, Any]], bool], written: set[str]
) -> None:
    everything = api.get("/v1/conversations?pageSize=100").json
    assert everything["totalCount"] == len(everything["data"]) > 20  # hand-written and generated
    expected = {c["id"] for c in everything["data"] if keep(c)}
    found = {c["id"] for c in api.get(f"/v1/conversations?{query}&pageSize=100").json["data"]}
    assert found == expected and found & {f"conv_{n}" for n in range(123, 128)} == written


def test_another_clients_conversation_is_a_404_and_a_key_without_the_scope_a_403(api: Api) -> None:
    assert api.get("/v1/conversations/conv_901").status == 404
    assert api.get("/v1/conversations/conv_901/messages", key=OTHER).status == 200
    r = api.get("/v1/conversations", key=ENGAGEMENTS_ONLY)
    assert r.status == 403 and r.json["error"]["requiredScope"] == "conversations:read"
