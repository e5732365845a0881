"""The shop's outcome sentences are spaced as their language spaces them: Japanese runs on."""

from orders.progress import join_sentences


def test_japanese_sentences_run_on_without_a_space():
    joined = join_sentences(["お支払いが拒否されました。", "", "代金は請求されていません。"])
    assert joined == "お支払いが拒否されました。代金は請求されていません。"


def test_english_sentences_keep_their_space():
    assert join_sentences(["Payment declined.", "You have not been charged."]) == (
        "Payment declined. You have not been charged."
    )
