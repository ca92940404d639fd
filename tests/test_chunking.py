"""Chunks fit the embedder's window, cover the article, and carry exact offsets."""

from __future__ import annotations

import datetime as dt

from qa_bot.articles import load_file
from qa_bot.chunking import EMBEDDER_WINDOW, chunk_article, embed_text, header_for, split_sentences
from qa_bot.types import Article
from tests.conftest import SEED_CORPUS, TEST_CORPUS


def _all_articles():
    out = []
    for p in [*SEED_CORPUS.glob("*.txt"), *TEST_CORPUS.rglob("*.*")]:
        try:
            out.extend(load_file(p, 10**7))
        except Exception:
            pass
    return out


def test_no_chunk_is_truncated_by_the_embedder(embedder):
    """Header + body + [CLS]/[SEP] must fit in MiniLM's 256 word pieces, measured by its own tokenizer."""
    assert embedder.max_tokens == EMBEDDER_WINDOW
    long_sentence = "The committee " + " ".join(f"reviewed item{i} carefully" for i in range(400)) + "."
    articles = [
        *_all_articles(),
        Article(id="long", title="A " * 80, text=long_sentence, published=dt.date(2020, 1, 1)),
    ]
    for art in articles:
        header = header_for(art, embedder.count_tokens)
        for chunk in chunk_article(art, embedder.count_tokens, 180):
            full = embedder.count_tokens(embed_text(header, chunk.text), special=True)
            assert full <= EMBEDDER_WINDOW, (art.id, chunk.position, full)


def test_offsets_point_at_the_chunk_text_and_cover_the_article(embedder):
    [art] = load_file(SEED_CORPUS / "000_0cd96bd9d1e8fa7f.txt", 10**7)
    chunks = chunk_article(art, embedder.count_tokens, 180)
    assert len(chunks) >= 5
    for c in chunks:
        assert art.text[c.start : c.end] == c.text
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    body = [i for i, ch in enumerate(art.text) if not ch.isspace()]
    assert all(i in covered for i in body), "every non-blank character is in some chunk"
    # one sentence of overlap keeps a fact that straddles a boundary retrievable
    assert any(a.end > b.start for a, b in zip(chunks, chunks[1:], strict=False))
    # the key sentence is not split between chunks
    assert any(
        "Steven Mnuchin and U.S. Trade Representative Robert Lighthizer will visit" in c.text for c in chunks
    )


def test_smaller_budget_means_more_chunks(embedder):
    [art] = load_file(SEED_CORPUS / "000_0cd96bd9d1e8fa7f.txt", 10**7)
    assert len(chunk_article(art, embedder.count_tokens, 60)) > len(
        chunk_article(art, embedder.count_tokens, 180)
    )
    for c in chunk_article(art, embedder.count_tokens, 60):
        assert embedder.count_tokens(c.text) <= 60


def test_sentence_splitter_respects_abbreviations():
    text = "Talks resumed in Washington, D.C., on Jan. 31. The U.S. said progress was made. Mr. Liu agreed."
    sents = [text[s:e] for s, e in split_sentences(text)]
    assert sents == [
        "Talks resumed in Washington, D.C., on Jan. 31.",
        "The U.S. said progress was made.",
        "Mr. Liu agreed.",
    ]


def test_a_huge_sentence_is_cut_in_linear_work_and_every_piece_fits(embedder):
    """A file of one endless sentence (no full stops) must not make ingest quadratic: the
    tokenizer reads each word about once, not every growing prefix."""
    words = ["harbor", "bridge,", "$48.5", "million", "Ünïcödé", "https://example.com/a?b=c", "x" * 300, "don’t"]
    text = " ".join(words[i * 7 % len(words)] for i in range(20_000))
    calls = {"n": 0, "chars": 0}

    def counting(t: str, special: bool = False) -> int:
        calls["n"] += 1
        calls["chars"] += len(t)
        return embedder.count_tokens(t, special)

    chunks = chunk_article(Article(id="run-on", title="Run-on", text=text), counting)
    assert all(embedder.count_tokens(c.text) <= 180 for c in chunks)
    assert "".join(c.text.replace(" ", "") for c in chunks).count("bridge,") >= 20_000 // 8  # nothing lost
    # measured here: 4.0 characters read per character of text; 31 when growing prefixes were re-counted
    assert calls["chars"] < 5 * len(text), calls
