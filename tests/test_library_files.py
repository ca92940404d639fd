"""Removing an article qa-bot saved takes it out of its file, and only it (articles.forget_file, library.py)."""

from __future__ import annotations

import json

from qa_bot.articles import forget_file, load_file

MB = 1_000_000


def _jsonl(path, ids):
    rows = [{"id": i, "title": f"Story {i}", "text": f"The ferry story number {i} is told here in full."} for i in ids]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def test_removing_one_jsonl_record_keeps_the_others_and_their_ids(tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    f = uploads / "batch.jsonl"
    _jsonl(f, ["a", "b", "c"])
    [b] = [x for x in load_file(f, MB) if x.id == "b"]
    note = forget_file(b.path, "b", [uploads])
    assert "took line 2 out of batch.jsonl" in note
    assert [x.id for x in load_file(f, MB)] == ["a", "c"]
    # records with no id of their own keep theirs (they are numbered by line): the line is blanked
    g = uploads / "plain.jsonl"
    g.write_text("\n".join(json.dumps({"text": f"A record about the ferry, number {i}."}) for i in range(3)))
    assert forget_file(f"{g}:1", "plain-1", [uploads]).startswith("; took line 1")
    assert [x.id for x in load_file(g, MB)] == ["plain-2", "plain-3"]


def test_the_last_record_takes_its_file_and_a_changed_file_is_left_alone(tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    f = uploads / "one.jsonl"
    _jsonl(f, ["solo"])
    assert "deleted one.jsonl" in forget_file(f"{f}:1", "solo", [uploads]) and not f.exists()
    _jsonl(f, ["x", "y"])
    before = f.read_text()
    assert "left as it is" in forget_file(f"{f}:1", "y", [uploads])  # line 1 is no longer y
    assert f.read_text() == before


def test_only_files_the_web_ui_saved_are_touched(tmp_path):
    uploads, corpus = tmp_path / "uploads", tmp_path / "corpus"
    uploads.mkdir()
    corpus.mkdir()
    mine = corpus / "story.md"
    mine.write_text("---\ntitle: T\n---\nThe ferry to Pellston now leaves at 7:40.\n")
    assert forget_file(str(mine), "story", [uploads]) == "" and mine.exists()
    up = uploads / "story.md"
    up.write_text(mine.read_text())
    assert "deleted story.md" in forget_file(str(up), "story", [uploads]) and not up.exists()


def test_the_assistant_adds_and_removes_files_the_same_way_for_every_face(make_settings, embedder, tmp_path):
    """library.py through the Assistant, as the web UI, the CLI and the API use it."""
    from qa_bot.assistant import Assistant

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "mine.md").write_text("---\ntitle: Harbour notes\n---\nThe harbour master retired in June.\n")
    a = Assistant(make_settings(corpus_dir=corpus), progress=False, embedder=embedder)
    a.ingest(corpus)
    books = a.articles

    pasted = books.index_new(books.save_text("Ferry timetable", "The ferry to Pellston now leaves at 7:40 each day."))
    assert pasted.kept and pasted.path.parent == corpus / "uploads" and pasted.report.added == [pasted.path.stem]
    assert pasted.path.read_text().startswith("Ferry timetable\n")

    blank = books.index_new(books.save_upload("blank.txt", b"  \n\n"), "blank.txt")
    assert not blank.kept and not blank.path.exists()  # nothing indexed: no file left behind

    batch = books.save_upload("../batch.jsonl", b"")  # a name with a path in it stays in uploads/
    assert batch.parent == corpus / "uploads"
    _jsonl(batch, ["a", "b"])
    assert books.index_new(batch).report.added == ["a", "b"]
    gone = a.remove("b")
    assert gone.chunks > 0 and "took line 2 out of batch.jsonl" in gone.note
    a.ingest(corpus)  # what the next start does: "a" stays, "b" does not come back
    assert {"a", "mine", pasted.path.stem} == {r.id for r in a.library()}

    mine = a.remove("mine")  # a person's own file is theirs: out of the index, the file untouched
    assert mine.chunks > 0 and mine.note == "" and (corpus / "mine.md").exists()
    assert a.remove("no-such-article").chunks == 0
