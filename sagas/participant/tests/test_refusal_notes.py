"""A participant's refusals, stored in English, read in the reader's language once it registers them."""

from django.utils import translation

from sagas.engine import notes


def test_a_registered_refusal_reads_in_japanese_with_its_values():
    stored = "charge_payment: InsufficientFunds: Insufficient funds: 50.00 asked, 5.00 available."

    with translation.override("ja"):
        shown = notes.note_in_language(stored)

    assert shown == "charge_payment: InsufficientFunds: 残高不足です: 請求額 50.00、利用可能額 5.00。"


def test_a_value_that_opens_a_sentence_is_the_word_before_it_only():
    stored = "reserve_stock: ProductInactive: GADGET-1 is not for sale."

    with translation.override("ja"):
        assert notes.note_in_language(stored) == "reserve_stock: ProductInactive: GADGET-1 は販売されていません。"


def test_a_refusal_inside_a_handlers_note_is_translated_too():
    stored = "the order was not created: Order 42 is CANCELLED and cannot become PENDING."

    with translation.override("ja"):
        shown = notes.note_in_language(stored)

    assert shown == "注文は作成されませんでした: 注文 42 は CANCELLED のため、PENDING にはできません。"


def test_a_sentence_nobody_registered_stays_as_written():
    with translation.override("ja"):
        assert notes.note_in_language("RuntimeError: boom") == "RuntimeError: boom"


def test_in_english_a_refusal_reads_as_stored():
    stored = "reserve_stock: OutOfStock: Only 2 of WIDGET-1 in stock, 5 asked."
    with translation.override("en"):
        assert notes.note_in_language(stored) == stored
