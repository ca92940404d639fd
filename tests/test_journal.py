"""The journal (journal.py): answers kept with their citations, conversations per login, ratings
that become eval cases, Markdown export. Real Chroma and SQLite; the model is scripted and the
embedder weightless, so this runs in the fast lane. The faces' use of it (web, API, CLI) is
tested in test_feedback.py."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
import textwrap
import threading

import pytest

from qa_bot.assistant import Assistant
from qa_bot.errors import InputError, NotFoundError
from qa_bot.evaluation import load_dataset
from qa_bot.types import Answer
from tests.conftest import ROOT, TEST_CORPUS, scripted

BRIDGE_Q = "How much did the Harbor Bridge repair cost?"
BRIDGE_A = "The Harbor Bridge repairs cost $48.5 million [1]."


@pytest.fixture
def assistant(make_settings, embedder):
    a = Assistant(make_settings(), llm=scripted(BRIDGE_A), progress=False, embedder=embedder)
    a.ingest(TEST_CORPUS)
    return a


def test_a_kept_answer_comes_back_with_its_citations_and_sources(assistant):
    answer = assistant.ask(BRIDGE_Q)
    assert not answer.abstained and answer.citations
    j = assistant.journal
    cid = j.start("", BRIDGE_Q)
    aid = j.record(answer, face="cli", conversation=cid, k=3, today=dt.date(2024, 5, 1))
    conv, [turn] = j.conversation(cid)
    assert conv.title == BRIDGE_Q and conv.turns == 1
    assert turn.id == aid and turn.asked_on == dt.date(2024, 5, 1)
    back = turn.answer
    assert back.text == answer.text and back.pieces() == answer.pieces()
    [c0], [c1] = answer.citations, back.citations
    assert (c1.n, c1.span, c1.passage.article.id, c1.passage.chunk.text) == (
        c0.n, c0.span, c0.passage.article.id, c0.passage.chunk.text)
    assert turn.settings["k"] == 3 and "model" in turn.settings and "index_recipe" in turn.settings
    # the model's draft is not kept
    assert "draft" not in json.dumps(answer.saved())


def test_an_abstention_keeps_the_passages_it_looked_at(make_settings, embedder):
    a = Assistant(make_settings(), llm=scripted("NOT_IN_ARTICLES"), progress=False, embedder=embedder)
    a.ingest(TEST_CORPUS)
    answer = a.ask("Who repaired the Harbor Bridge cables?")
    assert answer.abstained
    back = Answer.from_dict(answer.saved())
    assert back.abstained and back.abstain_reason == answer.abstain_reason
    assert [p.article.id for p in back.passages] == [p.article.id for p in answer.passages[:3]]


def test_each_login_sees_only_its_own_conversations(assistant):
    answer = assistant.ask(BRIDGE_Q)
    j = assistant.journal
    alice = j.start("alice", "alice's")
    bob = j.start("bob", "bob's")
    j.record(answer, face="web", login="alice", conversation=alice)
    assert [c.id for c in j.conversations("alice")] == [alice]
    assert [c.id for c in j.conversations("bob")] == [bob]
    with pytest.raises(NotFoundError):
        j.conversation(alice, "bob")
    with pytest.raises(NotFoundError):
        j.markdown(alice, "bob")
    with pytest.raises(NotFoundError):
        j.delete(alice, "bob")
    with pytest.raises(NotFoundError):  # nor can bob add turns to alice's
        j.record(answer, face="web", login="bob", conversation=alice)
    aid = j.conversation(alice, "alice")[1][0].id
    with pytest.raises(NotFoundError):  # or rate her answers
        j.rate(aid, "down", login="bob")
    assert j.delete(alice, "alice") == 1 and j.conversations("alice") == []
    assert {c.id for c in j.conversations(None)} == {bob}  # the operator (CLI) sees everyone's


def test_a_chat_turn_whose_conversation_was_deleted_starts_a_new_one(assistant):
    j = assistant.journal
    answer = assistant.ask(BRIDGE_Q)
    first, cid = j.keep(answer, face="web", login="alice")
    again, same = j.keep(answer, face="web", login="alice", conversation=cid)
    assert same == cid and [t.id for t in j.conversation(cid, "alice")[1]] == [first, again]
    j.delete(cid, "alice")  # in another tab
    kept, fresh = j.keep(answer, face="web", login="alice", conversation=cid)
    assert kept and fresh != cid and j.conversation(fresh, "alice")[0].title == BRIDGE_Q


def test_rating_again_replaces_and_keeps_what_was_said(assistant):
    j = assistant.journal
    aid = j.record(assistant.ask(BRIDGE_Q), face="api")
    first = j.rate(f"chatcmpl-{aid}", "down", comment="wrong year", face="api")
    again = j.rate(aid, "👍")
    assert again.id == first.id and again.rating == "up" and again.comment == "wrong year"
    [only] = j.ratings()
    assert only.question == BRIDGE_Q and "$48.5 million" in only.answer
    assert only.citations[0]["article_id"] == "harbor-bridge" and "$48.5 million" in only.citations[0]["quote"]
    assert only.settings["evidence_chars"] == assistant.settings.evidence_chars
    assert j.ratings(rating="down") == [] and len(j.ratings(rating="up")) == 1
    assert j.ratings(since=dt.date.today() + dt.timedelta(days=1)) == []
    assert len(j.ratings(until=dt.date.today())) == 1


@pytest.mark.parametrize("bad, message", [
    ("sideways", "up or down"), (None, "up or down"),
])
def test_a_bad_rating_is_refused_in_one_line(assistant, bad, message):
    aid = assistant.journal.record(assistant.ask(BRIDGE_Q), face="cli")
    with pytest.raises(InputError, match=message):
        assistant.journal.rate(aid, bad)
    with pytest.raises(InputError, match="under 4000"):
        assistant.journal.rate(aid, "down", comment="x" * 5000)
    with pytest.raises(NotFoundError, match="no answer"):
        assistant.journal.rate("0000000000", "up")
    assert assistant.journal.ratings() == []


def test_ratings_become_eval_cases_the_harness_reads(assistant, tmp_path):
    j = assistant.journal
    q2 = "How many vehicles cross the Harbor Bridge each day?"
    kept = {q: j.record(assistant.ask(q), face="web") for q in (BRIDGE_Q, q2)}
    j.rate(kept[BRIDGE_Q], "up", comment="spot on")
    j.rate(kept[q2], "down", correction="about 11,000 vehicles")
    marked = assistant.ask("What did the Harbor Bridge repairs cost in total?")
    assert not marked.abstained
    j.rate(j.record(marked, face="web"), "down", not_in_articles=True)
    j.rate(j.record(assistant.ask("What did the bridge repairs cost?"), face="web"), "down")  # says nothing usable
    cases, skipped = j.eval_cases(assistant.holding)
    assert len(cases) == 3 and len(skipped) == 1 and "no correction" in skipped[0]
    up, corrected, unanswerable = cases
    assert up["answerable"] and up["answers"] == ["$48.5 million"] and up["doc_ids"] == ["harbor-bridge"]
    assert corrected["answerable"] and corrected["answers"] == ["about 11,000 vehicles"]
    assert corrected["doc_ids"] == ["harbor-bridge"]  # the article that holds the correction
    assert not unanswerable["answerable"] and unanswerable["answers"] == []
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    items = load_dataset(path)
    assert [i.answerable for i in items] == [True, True, False]


def test_a_correction_no_article_holds_has_no_doc_ids(assistant):
    assert assistant.holding(BRIDGE_Q, "nine hundred rubber ducks") == []


def test_markdown_export_gives_footnotes_and_no_markup_from_articles(assistant):
    j = assistant.journal
    cid = j.start("", "bridge *costs*")
    hostile = "How much did the Harbor Bridge repair cost ![x](http://evil.example/t.png)?"
    j.record(assistant.ask(hostile), face="web", conversation=cid)
    md = j.markdown(cid)
    assert md.startswith("# bridge \\*costs\\*")
    assert "**Question:** How much did the Harbor Bridge repair cost \\!\\[x\\]\\(http" in md
    assert "[^1-1]" in md.split("**Answer:**")[1].splitlines()[0]
    [note] = [line for line in md.splitlines() if line.startswith("[^1-1]:")]
    assert "Harbor Bridge" in note and "$48.5 million" in note and "2024" in note
    assert "](http" not in md  # nothing in the export renders as a link or image it did not write


def test_concurrent_writers_lose_nothing(assistant):
    j = assistant.journal
    answer = assistant.ask(BRIDGE_Q)
    ids: list[str] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        for _ in range(n):
            aid = j.record(answer, face="api")
            j.rate(aid, "up")
            with lock:
                ids.append(aid)

    threads = [threading.Thread(target=write, args=(15,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 60 and len({r.answer_id for r in j.ratings()}) == 60


def test_a_writer_killed_mid_way_loses_only_its_last_rating(assistant, tmp_path):
    """kill -9 a process rating answers as fast as it can: every rating it reported is kept,
    and the file is whole."""
    j = assistant.journal
    aid = j.record(assistant.ask(BRIDGE_Q), face="cli")
    script = textwrap.dedent(f"""
        import sys
        from qa_bot.config import load_settings
        from qa_bot.journal import Journal
        j = Journal(load_settings(data_dir={str(assistant.settings.data_dir)!r}))
        for i in range(100000):
            j.record(j.turn({aid!r}).answer, face="cli", answer_id=f"k{{i:09d}}")
            j.rate(f"k{{i:09d}}", "down", comment=str(i))
            print(i, flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    done = [proc.stdout.readline() for _ in range(40)]
    proc.kill()
    proc.wait()
    reported = int(done[-1])
    con = sqlite3.connect(assistant.settings.data_dir / "journal.sqlite")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    kept = {r.comment for r in j.ratings()}
    assert {str(i) for i in range(reported + 1)} <= kept


def test_with_the_journal_off_nothing_is_kept_and_rating_says_why(make_settings, embedder):
    a = Assistant(make_settings(journal=False), llm=scripted(BRIDGE_A), progress=False, embedder=embedder)
    a.ingest(TEST_CORPUS)
    assert a.journal.record(a.ask(BRIDGE_Q), face="cli") is None
    assert not (a.settings.data_dir / "journal.sqlite").exists()
    with pytest.raises(InputError, match="journal is off"):
        a.journal.rate("anything", "up")


def test_a_journal_file_deleted_while_running_is_made_again(assistant):
    j = assistant.journal
    j.record(assistant.ask(BRIDGE_Q), face="cli")
    for f in assistant.settings.data_dir.glob("journal.sqlite*"):
        f.unlink()
    aid = j.record(assistant.ask(BRIDGE_Q), face="cli")  # no "no such table"
    assert j.turn(aid).question == BRIDGE_Q
