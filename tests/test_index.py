"""Incremental sync on a real Chroma in a temp dir: add, unchanged, change, delete, interrupted."""

from __future__ import annotations

import pytest

from qa_bot.index import ArticleIndex
from qa_bot.sync import sync


@pytest.fixture
def index(make_settings, embedder):
    return ArticleIndex(make_settings(), embedder)


def _ids(index):
    return sorted(a.id for a in index.articles())


def test_add_then_unchanged_then_change_then_delete(index, corpus_copy):
    r = sync(index, corpus_copy)
    assert sorted(r.added) == [
        "brief-ferry",
        "brief-library",
        "cafe-latin1",
        "harbor-bridge",
        "orchard-festival",
    ]
    assert {p.rsplit("/", 1)[-1] for p, _ in r.skipped} == {"empty.txt", "picture.md"}
    assert r.chunks_embedded == index.count() > 0

    r = sync(index, corpus_copy)
    assert r.chunks_embedded == 0 and not r.added and not r.updated and len(r.unchanged) == 5

    bridge = corpus_copy / "harbor-bridge.md"
    bridge.write_text(bridge.read_text().replace("11,000 vehicles", "12,500 vehicles"))
    r = sync(index, corpus_copy)
    assert r.updated == ["harbor-bridge"] and not r.added and r.chunks_embedded > 0
    docs = index.collection.get(where={"article_id": "harbor-bridge"}, include=["documents"])["documents"]
    assert any("12,500 vehicles" in d for d in docs) and not any("11,000" in d for d in docs)

    (corpus_copy / "sub" / "orchard-festival.html").unlink()
    r = sync(index, corpus_copy)
    assert r.removed == ["orchard-festival"]
    assert "orchard-festival" not in _ids(index)
    assert not index.collection.get(where={"article_id": "orchard-festival"})["ids"]


def test_file_that_turns_bad_keeps_its_indexed_article(index, corpus_copy):
    sync(index, corpus_copy)
    (corpus_copy / "harbor-bridge.md").write_bytes(b"\x00\x01binary now")
    r = sync(index, corpus_copy)
    assert "harbor-bridge" in _ids(index) and not r.removed
    assert any("binary" in reason for _, reason in r.skipped)


def test_ingesting_one_folder_does_not_prune_another(index, corpus_copy, tmp_path):
    sync(index, corpus_copy / "sub")
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.txt").write_text(
        "Pellston Council Votes on Budget\n\nThe council approved the budget on Monday."
    )
    sync(index, other)
    assert _ids(index) == ["note", "orchard-festival"]


class Interrupt(KeyboardInterrupt):
    pass


@pytest.mark.parametrize("fail_at", [1, 2])
def test_interrupted_sync_leaves_a_consistent_index(index, corpus_copy, monkeypatch, fail_at):
    """Ctrl-C at any write (1: the upsert of both changed articles, 2: dropping the bridge's old
    version): no half-indexed article is listed, and a re-run completes the job."""
    sync(index, corpus_copy)
    before = {a.id: a.chunks for a in index.articles()}
    bridge = corpus_copy / "harbor-bridge.md"
    bridge.write_text(bridge.read_text() + "\nA new paragraph about the bridge's lighting was added later.\n")
    (corpus_copy / "new.txt").write_text(
        "Gull Island Lighthouse Restored\n\nVolunteers restored the lighthouse."
    )

    calls = {"n": 0}
    coll = index.collection
    real_upsert, real_delete = coll.upsert, coll.delete

    def counting(fn):
        def wrapper(*a, **kw):
            calls["n"] += 1
            if calls["n"] == fail_at:
                raise Interrupt()
            return fn(*a, **kw)

        return wrapper

    monkeypatch.setattr(coll, "upsert", counting(real_upsert))
    monkeypatch.setattr(coll, "delete", counting(real_delete))
    with pytest.raises(KeyboardInterrupt):
        sync(index, corpus_copy)
    monkeypatch.setattr(coll, "upsert", real_upsert)
    monkeypatch.setattr(coll, "delete", real_delete)

    # nothing previously indexed was lost, and every listed article is complete
    listed = {a.id for a in index.articles()}
    assert set(before) <= listed
    for _chunk, meta in index.all_chunks():
        assert meta["article_id"] in listed

    r = sync(index, corpus_copy)
    assert "new" in _ids(index)
    docs = index.collection.get(where={"article_id": "harbor-bridge"}, include=["documents"])["documents"]
    assert any("lighting" in d for d in docs)
    # exactly one version of each article remains
    for a in index.articles():
        hashes = {m["content_hash"] for m in index.collection.get(where={"article_id": a.id})["metadatas"]}
        assert len(hashes) == 1, a.id
    assert sync(index, corpus_copy).chunks_embedded == 0
    assert (r.chunks_embedded > 0) == (fail_at == 1)  # after the upsert went through, only the delete is redone


def test_readers_skip_a_record_another_process_is_still_writing(index, corpus_copy, embedder):
    """Chroma can show a reader a row whose metadata is not written yet; it must be passed over."""
    sync(index, corpus_copy)
    before = _ids(index)
    vec = embedder.embed(["harbor bridge tolls"], 1)[0]
    index.collection.add(ids=["half-written"], embeddings=[vec.tolist()], documents=["harbor bridge tolls"])
    index.collection.add(ids=["half-meta"], embeddings=[vec.tolist()], documents=["harbor bridge tolls"],
                         metadatas=[{"article_id": "harbor-bridge"}])
    assert _ids(index) == before
    assert all(c.id not in ("half-written", "half-meta") for c, _ in index.all_chunks())
    hits = index.query(vec, 10)
    assert hits and all(c.id not in ("half-written", "half-meta") for c, _, _ in hits)


@pytest.mark.slow  # an ingest in a process of its own: the real embedder
def test_search_runs_while_another_process_ingests(make_settings, embedder, tmp_path):
    """The crash once seen: `qa-bot search` during an ingest into the same index."""
    from pathlib import Path

    from qa_bot.assistant import Assistant
    from tests.hostile import good
    from tests.test_stress import held_ingest

    settings = make_settings()
    corpus = tmp_path / "many"
    corpus.mkdir()
    good(corpus, "first.txt", "first")
    assistant = Assistant(settings, progress=False, embedder=embedder)
    assistant.ingest(corpus)
    for i in range(120):
        good(corpus, f"town-{i:03}.txt", f"town{i}")
    hold = tmp_path / "hold"
    # the writer stops after its first write (some of the 120 new articles' chunks are in) and
    # waits: every search below runs while that ingest is half done
    writer = held_ingest(["-q", "--data-dir", str(settings.data_dir), "ingest", str(corpus)], 1, hold)
    for _ in range(3):
        assert assistant.search("harbour ferry line", k=5)
        assert "first" in {a.id for a in assistant.library()}
        assert writer.poll() is None  # still inside its ingest, held after its first write
    Path(f"{hold}.go").touch()
    assert writer.wait(timeout=300) == 0, writer.stderr.read()
    assert len(assistant.library()) == 121


def test_an_article_id_held_by_another_file_is_never_taken_over(index, corpus_copy, tmp_path):
    sync(index, corpus_copy)
    other = tmp_path / "other"
    other.mkdir()
    (other / "harbor-bridge.txt").write_text("Impostor title for the bridge\n\nA different article that reuses the id.\n")
    r = sync(index, other)
    assert not r.added and not r.updated
    assert [reason for _, reason in r.skipped] == [f"article id 'harbor-bridge' is already used by {corpus_copy.resolve() / 'harbor-bridge.md'}"]
    titles = {a.id: a.title for a in index.articles()}
    assert titles["harbor-bridge"].startswith("Harbor Bridge in Pellston")


def test_an_article_that_moves_between_jsonl_files_moves_in_one_sync(index, tmp_path):
    import json

    folder = tmp_path / "j"
    folder.mkdir()
    rec = {"id": "mover", "title": "A moving story", "text": "The story of a record that changes files, told at length."}
    keep = {"id": "stayer", "title": "A staying story", "text": "The story of a record that stays where it is, told."}
    (folder / "b.jsonl").write_text(json.dumps(keep) + "\n" + json.dumps(rec) + "\n")
    (folder / "a.jsonl").write_text("")
    sync(index, folder)
    (folder / "b.jsonl").write_text(json.dumps(keep) + "\n")
    (folder / "a.jsonl").write_text(json.dumps(rec) + "\n")  # read first, while b.jsonl is still its owner
    r = sync(index, folder)
    assert not r.removed and not r.skipped and "mover" in r.unchanged  # same text: nothing re-embedded
    assert {a.id: a.path for a in index.articles()}["mover"].endswith("a.jsonl:1")


def test_an_index_built_with_other_chunk_settings_is_re_embedded(make_settings, embedder, corpus_copy):
    """Changing the chunk size (or the chunker, or the embedder) must not leave old chunks behind."""
    first = ArticleIndex(make_settings(chunk_tokens=180), embedder)
    sync(first, corpus_copy)
    before = {a.id: a.chunks for a in first.articles()}
    smaller = ArticleIndex(make_settings(chunk_tokens=64), embedder)
    r = sync(smaller, corpus_copy)
    assert sorted(r.updated) == sorted(before) and not r.added and r.chunks_embedded > 0
    after = {a.id: a.chunks for a in smaller.articles()}
    assert sum(after.values()) > sum(before.values())  # smaller chunks: more of them, and only the new ones
    metas = smaller.collection.get(include=["metadatas"])["metadatas"]
    assert len({(m["article_id"], m["content_hash"]) for m in metas}) == len(after)
    again = sync(smaller, corpus_copy)
    assert not again.updated and again.chunks_embedded == 0  # and then it is stable


@pytest.mark.slow  # measures the real int8 model
def test_int8_chunks_stay_close_to_fp32_and_switching_precision_re_embeds(make_settings, embedder, corpus_copy):
    from qa_bot.embedder import shared_embedder
    from qa_bot.sync import recipe

    assert make_settings().index_precision == "int8"  # the default: 1.7x faster ingest, same answers
    quick = ArticleIndex(make_settings(index_precision="int8"), embedder)
    sync(quick, corpus_copy)
    texts = [c.text for c, _ in quick.all_chunks()]
    assert len(texts) >= 5
    cos = (shared_embedder("onnx-int8").embed(texts) * embedder.embed(texts)).sum(axis=1)
    # per-channel int8: measured min 0.9925 / mean 0.9936 here, 0.984 / 0.994 on dev chunks (one
    # scale per matrix, as before, gave 0.902 / 0.953 on dev, and lost answers)
    assert cos.min() > 0.98 and cos.mean() > 0.985
    assert recipe(make_settings(index_precision="int8")) != recipe(make_settings(index_precision="fp32"))

    exact = ArticleIndex(make_settings(index_precision="fp32"), embedder)
    r = sync(exact, corpus_copy)
    assert len(r.updated) == 5 and r.chunks_embedded > 0  # every article re-embedded with the exact model
    from qa_bot.chunking import embed_text, header_for
    from qa_bot.index import article_from_meta

    v = exact.collection.get(where={"article_id": "harbor-bridge"}, include=["embeddings", "documents", "metadatas"])
    header = header_for(article_from_meta(v["metadatas"][0]), embedder.count_tokens)
    assert float(embedder.embed([embed_text(header, v["documents"][0])])[0] @ v["embeddings"][0]) > 0.999


def long_article(folder, n_sentences: int = 6_000):
    """One file whose text becomes more chunks than Chroma takes in one write (5,461), then a small one.

    Its sentences come round every 40, so its ~6,000 chunks are ~40 distinct texts: with
    ``remember_vectors`` the real embedder reads those once, and the test's time goes to what it
    tests, the writes. The last sentence is unlike the others, to show the far end is in."""
    folder.mkdir(parents=True, exist_ok=True)
    body = " ".join(f"On day {i % 40} the harbour council logged ferry crossing number {i % 40 * 7} without delay."
                    for i in range(n_sentences - 1))
    body += " On the last day the harbour council closed its ferry log."
    (folder / "long-log.md").write_text(f"---\ntitle: Harbour ferry log\ndate: 2024-03-01\n---\n{body}\n")
    (folder / "z-short.md").write_text("---\ntitle: Library hours\ndate: 2024-03-02\n---\n"
                                       "The city library will open on Sundays from April.\n")
    return folder


@pytest.mark.slow  # thousands of chunks
def test_an_article_longer_than_one_chroma_write_is_indexed_whole(make_settings, embedder, tmp_path, remember_vectors):
    index = ArticleIndex(make_settings(chunk_tokens=32), embedder)
    remember_vectors(index)
    limit = index.client.get_max_batch_size()
    r = sync(index, long_article(tmp_path / "long"))
    n = {a.id: a.chunks for a in index.articles()}
    assert n["long-log"] > limit, "the test article must need more than one write"
    assert sorted(r.added) == ["long-log", "z-short"] and index.count() == n["long-log"] + n["z-short"]
    # unchanged on the next run, and the far end of the long article is in
    assert sync(index, tmp_path / "long").chunks_embedded == 0
    got = index.collection.get(where={"article_id": "long-log"}, include=["documents"])["documents"]
    assert any("closed its ferry log" in d for d in got)
