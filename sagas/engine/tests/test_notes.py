"""The engine's notes are stored in English and read in the reader's language, values kept."""

from django.utils import translation

from sagas.engine import notes

DEADLINE = notes.DEADLINE_PASSED_COMPENSATING % {"time": "2026-11-29 17:04:05"}
HELD = notes.HELD_PAST_LEASE % {"pid": 4242, "saga": "1a2b", "kind": "success", "late": "12"}


def test_a_stored_note_reads_in_japanese_with_its_values():
    with translation.override("ja"):
        assert (
            notes.note_in_language(DEADLINE)
            == "サガが終わる前に期限 2026-11-29 17:04:05 UTC を過ぎました。補償します。"
        )


def test_a_participants_own_error_after_an_engine_note_stays_as_written():
    stored = f"{HELD} reserve_stock: OutOfStock: Only 2 left."

    with translation.override("ja"):
        shown = notes.note_in_language(stored)

    assert shown.startswith("ワーカープロセス 4242 はサガ 1a2b のリース期限を過ぎても")
    assert "(success)" in shown and "12 秒後" in shown
    assert shown.endswith(" reserve_stock: OutOfStock: Only 2 left.")


def test_in_english_a_note_reads_as_stored():
    with translation.override("en"):
        assert notes.note_in_language(DEADLINE) == DEADLINE
    assert DEADLINE == "Deadline 2026-11-29 17:04:05 UTC passed before the saga finished. Compensating."


def test_an_operators_reason_at_the_end_of_a_note_is_kept_whole():
    stored = notes.COMPENSATED_BY % {"actor": "admin", "reason": "customer called: wrong size"}

    with translation.override("ja"):
        assert notes.note_in_language(stored) == "admin が補償しました: customer called: wrong size"


def test_text_that_only_looks_like_a_handlers_failure_on_an_event_stays_as_written():
    from sagas.choreography import monitor  # registers the note

    assert monitor.DELIVERY_FAILED in notes.NOTES
    stored = "reserve_stock: OperationalError: deadlock detected on relation stock: retry"

    with translation.override("ja"):
        assert notes.note_in_language(stored) == stored
