"""run_parts and read_ahead: a check's independent parts at once, and a stream read ahead of its consumer."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from sagas.engine.invariants import read_ahead, run_parts

committed = pytest.mark.django_db(databases="__all__", transaction=True)


def _where():
    return [threading.current_thread().name]


@committed
def test_parts_run_on_threads_of_their_own_and_come_back_in_the_order_given():
    results = run_parts([lambda: ["first", *_where()], lambda: ["second", *_where()]])
    assert [results[0], results[2]] == ["first", "second"]
    assert threading.current_thread().name not in (results[1], results[3])


@committed
def test_parts_run_on_the_calling_thread_inside_a_transaction():
    with transaction.atomic(using="default"):
        results = run_parts([_where, _where])
    assert results == [threading.current_thread().name] * 2


@committed
def test_a_stream_read_ahead_yields_every_row_in_order_across_chunks():
    assert list(read_ahead(iter(range(25)), chunk=4)) == list(range(25))


@committed
def test_a_stream_read_ahead_reads_committed_rows_on_its_own_connection():
    users = get_user_model().objects
    names = [users.create(username=f"reader-{n}").username for n in range(3)]
    rows = users.order_by("id").values_list("username", flat=True).iterator(chunk_size=2)
    assert list(read_ahead(rows, chunk=2)) == names


@committed
def test_an_error_while_reading_ahead_is_raised_to_the_consumer():
    def broken():
        yield 1
        raise ValueError("the stream broke")

    with pytest.raises(ValueError, match="the stream broke"):
        list(read_ahead(broken(), chunk=1))


@committed
def test_a_consumer_that_stops_early_leaves_no_reader_behind():
    before = threading.active_count()
    stream = read_ahead(iter(range(10_000)), chunk=10)
    assert next(stream) == 0
    stream.close()
    assert threading.active_count() == before
