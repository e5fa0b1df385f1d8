"""Write the voice calls of fixtures/acme.yaml and fixtures/globex.yaml (deterministic).

Each call's transcript reads like a voice-bot call of its campaign, with HH:MM:SS offsets;
durationSeconds is endTime - startTime; an answered call of a campaign with a survey has
EPA results whose calculatedScore is the mean answer score as a percentage of 5 (what
``epa-results`` answers). Run from the repository root:

    python3 scripts/build-voice-calls.py
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MARK = "    # Voice calls (scripts/build-voice-calls.py writes this list; do not edit by hand)\n"
QUESTIONS = [
    (
        "How satisfied are you with the call?",
        ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"],
    ),
    ("Did we solve your request?", ["Not at all", "Barely", "Partly", "Mostly", "Completely"]),
    ("How likely are you to recommend us?", ["Very unlikely", "Unlikely", "Maybe", "Likely", "Very likely"]),
]
SCRIPTS = {
    "Outbound": [
        ("agent", "Hello, this is Ava calling from Acme about your contract renewal. Is this a good time?"),
        ("customer", "Hi, yes, I have a minute."),
        ("agent", "Your plan renews next month. We can add 10 GB of data at the same price. Would you like that?"),
        ("customer", "That sounds good, yes please."),
        ("agent", "Done. You'll get a confirmation by text. Could you stay on the line for a 3-question survey?"),
        ("customer", "Sure."),
    ],
    "Inbound": [
        ("agent", "Thank you for calling Acme support, this is the virtual assistant. How can I help?"),
        ("customer", "My internet has been down since this morning."),
        ("agent", "I'm sorry. I can see an outage in your area; it should be fixed within 2 hours."),
        ("customer", "OK. Will I get a credit for it?"),
        ("agent", "Yes, a credit for today is applied automatically. Anything else?"),
        ("customer", "No, thanks."),
    ],
}


def offset(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def call(
    rng: random.Random, number: int, campaign: str, direction: str, survey: bool, start: datetime, state: str = ""
) -> dict:
    state = state or rng.choices(["Completed", "Busy", "NoAnswer", "Failed"], [80, 8, 9, 3])[0]
    record: dict = {"id": f"vc_{number}", "campaignId": campaign, "direction": direction, "state": state}
    if state != "Completed":
        ring = rng.randint(15, 40)
        record |= {
            "startTime": stamp(start),
            "endTime": stamp(start + timedelta(seconds=ring)),
            "durationSeconds": ring,
            "talkTimeSeconds": 0,
            "outcome": "NoContact",
            "transcript": [],
            "epaResults": None,
            "createdAt": stamp(start),
        }
        return record
    turns, at = [], rng.randint(1, 3)
    for role, text in SCRIPTS[direction]:
        turns.append({"role": role, "text": text, "timestamp": offset(at)})
        at += max(3, len(text) // 12 + rng.randint(1, 6))
    talk = at
    epa = None
    if survey:
        answered = rng.choices([3, 2, 1], [75, 15, 10])[0]
        responses = []
        for question, answers in QUESTIONS[:answered]:
            score = rng.choices([1, 2, 3, 4, 5], [4, 6, 15, 35, 40])[0]
            responses.append({"question": question, "answer": answers[score - 1], "score": score})
            at += rng.randint(6, 12)
        full = answered == len(QUESTIONS)
        epa = {
            "state": "Completed" if full else "Partial",
            "completionReason": "AllAnswered" if full else rng.choice(["HangUp", "Timeout"]),
            "totalQuestions": len(QUESTIONS),
            "questionsAnswered": answered,
            "calculatedScore": round(sum(r["score"] for r in responses) / answered / 5 * 100, 1),
            "responses": responses,
        }
    duration = at + rng.randint(1, 4)
    outcome = "Successful" if rng.random() < 0.7 else "Unsuccessful"
    record |= {
        "startTime": stamp(start),
        "endTime": stamp(start + timedelta(seconds=duration)),
        "durationSeconds": duration,
        "talkTimeSeconds": talk,
        "outcome": outcome,
        "transcript": turns,
        "epaResults": epa,
        "createdAt": stamp(start),
    }
    return record


def calls(seed: str, plan: list[tuple[str, str, bool, str, str, int]], first: int) -> list[dict]:
    rng = random.Random(seed)
    out, number = [], first
    for campaign, direction, survey, since, until, count in plan:
        low = datetime.fromisoformat(since).replace(tzinfo=UTC)
        span = int((datetime.fromisoformat(until).replace(tzinfo=UTC) - low).total_seconds())
        for _ in range(count):
            start = low + timedelta(seconds=rng.randrange(span))
            start = start.replace(hour=rng.randint(9, 18))
            out.append(call(rng, number, campaign, direction, survey, start))
            number += rng.randint(1, 97)
    return out


def write(path: Path, records: list[dict]) -> None:
    text = path.read_text()
    if MARK in text:
        text = text[: text.index(MARK)]
    dumped = yaml.safe_dump({"voice-calls": records}, sort_keys=False, width=110)
    text = text.rstrip("\n") + "\n" + MARK + "".join("    " + line + "\n" for line in dumped.splitlines())
    path.write_text(text)


def main() -> None:
    example = {
        "id": "vc_abc123",
        "campaignId": "camp_456",
        "direction": "Outbound",
        "state": "Completed",
        "startTime": "2024-01-15T10:30:00Z",
        "endTime": "2024-01-15T10:35:12Z",
        "durationSeconds": 312,
        "talkTimeSeconds": 287,
        "outcome": "Successful",
        "transcript": [
            {
                "role": "agent",
                "text": "Hello, this is Ava from Acme. A minute for a follow-up?",
                "timestamp": "00:00:01",
            },
            {"role": "customer", "text": "Hi, yes, go ahead.", "timestamp": "00:00:04"},
            {
                "role": "agent",
                "text": "Thanks. Three quick survey questions.",
                "timestamp": "00:04:30",
            },
            {"role": "customer", "text": "Sure.", "timestamp": "00:04:34"},
        ],
        "epaResults": {
            "state": "Completed",
            "completionReason": "AllAnswered",
            "totalQuestions": 3,
            "questionsAnswered": 3,
            "calculatedScore": 86.7,
            "responses": [
                {"question": q, "answer": a[s - 1], "score": s} for (q, a), s in zip(QUESTIONS, (5, 4, 4), strict=True)
            ],
        },
        "createdAt": "2024-01-15T10:30:00Z",
    }
    acme = [example] + calls(
        "acme",
        [
            ("camp_789", "Outbound", True, "2024-01-15", "2024-03-31", 30),
            ("camp_12", "Inbound", True, "2024-01-08", "2024-03-31", 30),
            ("camp_14", "Outbound", False, "2024-01-12", "2024-03-31", 10),
        ],
        1001,
    )
    # The newest call (the first a list shows) is an answered one with a survey.
    acme.append(
        call(
            random.Random("acme-last"),
            9001,
            "camp_12",
            "Inbound",
            True,
            datetime(2024, 3, 31, 17, tzinfo=UTC),
            "Completed",
        )
    )
    globex = calls("globex", [("camp_3", "Inbound", True, "2024-03-01", "2024-03-31", 12)], 5001)
    globex.append(
        call(
            random.Random("globex-last"),
            9901,
            "camp_3",
            "Inbound",
            True,
            datetime(2024, 3, 31, 17, tzinfo=UTC),
            "Completed",
        )
    )
    write(ROOT / "fixtures" / "acme.yaml", acme)
    write(ROOT / "fixtures" / "globex.yaml", globex)


if __name__ == "__main__":
    main()
