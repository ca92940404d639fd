"""Removing an article the web UI saved takes it out of its file, and only it (articles.forget_file)."""

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
