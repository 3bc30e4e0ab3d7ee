"""``host.form_fields()`` on the reference host: the questions of the events it received
and the labels an admin registered, and the plugin offering them on the settings form."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fortytwomin_snov.host.questions import InvalidQuestion
from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.testing import Credentials, SnovEmulator
from fortytwomin_snov.testing.clock import ManualClock
from tests.factories import booking_event, routing_form_event


@pytest.fixture
def host(tmp_path: Path) -> Iterator[ReferenceHost]:
    with ReferenceHost(tmp_path / "host.db", clock=ManualClock(time.time()), environ={}) as opened:
        yield opened


def test_questions_come_from_the_answers_and_fields_of_received_events(
    host: ReferenceHost,
) -> None:
    host.enqueue_many(
        [
            booking_event(
                1,
                answers={"team_size": "5", "company": "Acme"},
                event_type={"id": "et_intro", "title": "Intro call"},
            ),
            booking_event(2, answers={"team_size": "7"}, event_type={"id": "et_demo"}),
            routing_form_event(3, fields={"budget": "10k"}, form_id="rf_pricing"),
            booking_event(4),  # no answers
        ]
    )
    assert host.form_fields() == [
        {"source": "routing_form_field:budget", "label": "budget", "form": "rf_pricing"},
        {"source": "invitee_form_question:company", "label": "company", "form": "Intro call"},
        # The newest event's form: a question asked on several pages shows one of them.
        {"source": "invitee_form_question:team_size", "label": "team_size", "form": "et_demo"},
    ]


def test_registered_labels_win_and_can_be_removed(host: ReferenceHost) -> None:
    host.enqueue(booking_event(1, answers={"team_size": "5"}))
    host.add_question("invitee_form_question:team_size", "How big is your team?", "Intro call")
    host.add_question("routing_form_field:budget", "  What is your   budget? ")
    assert host.form_fields() == [
        {
            "source": "invitee_form_question:team_size",
            "label": "How big is your team?",
            "form": "Intro call",
        },
        {"source": "routing_form_field:budget", "label": "What is your budget?", "form": None},
    ]
    assert [q.registered for q in host.form_questions()] == [True, True]
    assert host.remove_question("invitee_form_question:team_size") is True
    assert host.remove_question("invitee_form_question:team_size") is False
    assert host.form_fields()[0] == {
        "source": "invitee_form_question:team_size",
        "label": "team_size",
        "form": None,
    }


@pytest.mark.parametrize(
    ("source", "label", "words"),
    [
        ("person.email", "Email", "is not a source"),
        ("invitee_form_question:", "Empty id", "is not a source"),
        ("invitee_form_question:a b", "Space", "is not a source"),
        ("invitee_form_question:ok", "   ", "A label is 1-200 characters"),
    ],
)
def test_a_source_or_label_that_will_not_do_is_refused(
    host: ReferenceHost, source: str, label: str, words: str
) -> None:
    with pytest.raises(InvalidQuestion, match=words):
        host.add_question(source, label)


def test_the_settings_form_offers_the_hosts_questions_by_label(
    tmp_path: Path, snov_emulator: SnovEmulator
) -> None:
    from fortytwomin_snov.testing import seed_demo

    keys: Credentials = seed_demo(snov_emulator.state)
    with ReferenceHost(tmp_path / "host.db") as host:
        host.connect(
            {"api_user_id": keys.client_id, "api_secret": keys.client_secret},
            {"id": "admin-1", "role": "admin"},
        )
        host.add_question("invitee_form_question:team_size", "How big is your team?", "Intro call")
        form = host.settings_schema()
        source = form["schema"]["$defs"]["field_mapping"]["properties"]["source"]
        titles = {option["const"]: option["title"] for option in source["oneOf"]}
        assert titles["invitee_form_question:team_size"] == "How big is your team? — Intro call"
        saved = host.save_settings(
            {
                "field_mappings": [
                    {"source": "invitee_form_question:later", "target": "prospect.company"}
                ]
            }
        )
        assert any("invitee_form_question:later" in warning for warning in saved.warnings)
