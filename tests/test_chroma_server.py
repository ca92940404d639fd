"""qa-bot against a real Chroma server (`chroma run` from the venv, on loopback): ingest,
search, ask, incremental re-ingest, an ingest killed with SIGKILL, the server going away, and
the round trips one search costs."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_CORPUS, start_server
from tests.hostile import good
from tests.test_cli import one_line_error, qa
from tests.test_stress import _consistency, held_ingest

pytestmark = pytest.mark.integration
CHROMA = Path(sys.executable).parent / "chroma"


def _start_chroma(path: Path) -> tuple[subprocess.Popen, str]:
    import chromadb

    def launch(port: int) -> subprocess.Popen:
        return subprocess.Popen([str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ready(port: int) -> bool:
        try:
            chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
            return True
        except Exception:
            return False

    proc, port = start_server(launch, ready, "chroma run", timeout=60)
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    proc, url = _start_chroma(tmp_path_factory.mktemp("chroma-server"))
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def _collection(url: str, name: str):
    import chromadb

    host, port = url.removeprefix("http://").split(":")
    return chromadb.HttpClient(host=host, port=int(port)).get_collection(name)


def test_ingest_search_ask_and_reingest_against_a_server(chroma_server, llama_server, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(TEST_CORPUS, corpus)
    env = {"QA_BOT_CHROMA_URL": chroma_server, "QA_BOT_COLLECTION": "live-one"}
    p = qa("-q", "ingest", str(corpus), data_dir=tmp_path / "d", env=env)
    assert p.returncode == 0 and "5 added" in p.stdout, p.stderr
    assert not (tmp_path / "d" / "chroma").exists()  # nothing went to local files

    p = qa("search", "--json", "harbor bridge tolls", data_dir=tmp_path / "d", env=env)
    assert p.returncode == 0 and json.loads(p.stdout)[0]["article_id"] == "harbor-bridge"

    ask_env = {**env, "QA_BOT_LLM_URL": llama_server, "QA_BOT_LLM_MODEL": "qwen-small"}
    p = qa("ask", "--json", "How much did the Harbor Bridge repairs cost?", data_dir=tmp_path / "d", env=ask_env)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["abstained"] or all(s["supported"] for s in out["sentences"])
    assert out["abstained"] or any(c["article_id"] == "harbor-bridge" for c in out["citations"])

    bridge = corpus / "harbor-bridge.md"
    bridge.write_text(bridge.read_text().replace("11,000 vehicles", "12,500 vehicles"))
    (corpus / "brief-ferry-extra.txt").write_text(good(tmp_path, "x.txt", "extra").read_text())
    p = qa("-q", "ingest", str(corpus), data_dir=tmp_path / "d", env=env)
    assert p.returncode == 0 and "1 added, 1 updated, 0 removed, 4 unchanged" in p.stdout, p.stdout
    # another user of the same server sees the same library
    p = qa("library", "--json", data_dir=tmp_path / "other-user", env=env)
    assert {r["id"] for r in json.loads(p.stdout)} >= {"harbor-bridge", "brief-ferry-extra"}


def test_an_ingest_killed_mid_way_recovers_on_the_server(chroma_server, tmp_path):
    import random

    from tests.test_stress import _write

    folder = tmp_path / "many"
    folder.mkdir()
    rnd = random.Random(5)
    for i in range(60):
        _write(folder, f"town{i}-harbour-{i}", rnd)  # up to 30 paragraphs each: ~10 s of embedding here
    env = {"QA_BOT_CHROMA_URL": chroma_server, "QA_BOT_COLLECTION": "live-kill"}
    # killed right after its first write to the server: some chunks in, most not
    proc = held_ingest(["-q", "--data-dir", str(tmp_path / "d"), "ingest", str(folder)], 1, tmp_path / "hold", env)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _collection(chroma_server, "live-kill").count() > 0
    p = qa("-q", "ingest", str(folder), data_dir=tmp_path / "d", env=env)
    assert p.returncode == 0, p.stderr
    _consistency(tmp_path / "d", folder, col=_collection(chroma_server, "live-kill"), env=env)


def test_a_server_that_goes_away_is_a_one_line_error(tmp_path, embedder):
    from qa_bot.assistant import Assistant
    from qa_bot.config import load_settings
    from qa_bot.errors import QABotError

    proc, url = _start_chroma(tmp_path / "srv")
    try:
        corpus = tmp_path / "c"
        corpus.mkdir()
        good(corpus, "ferry.txt", "Kelby")
        settings = load_settings(data_dir=tmp_path / "d", chroma_url=url, collection="going-away")
        assistant = Assistant(settings, progress=False, embedder=embedder)
        assistant.ingest(corpus)
        assert assistant.search("Kelby ferry line")

        # what one search costs against the server, once BM25 is built: one count (is the
        # index still the same?) and the queries themselves
        calls: list[str] = []
        col = assistant.index.collection
        real = col._collection

        class Counting:
            def __getattr__(self, name):
                calls.append(name)
                return getattr(real, name)

        col._collection = Counting()
        assistant.search("Kelby ferry line")
        col._collection = real
        print("round trips per search:", calls)
        assert calls.count("count") <= 1 and len(calls) <= 3, calls
    finally:
        proc.kill()
        proc.wait()
    with pytest.raises(QABotError, match="lost the Chroma server"):
        assistant.search("Kelby ferry line")
    p = qa("search", "Kelby", data_dir=tmp_path / "d", env={"QA_BOT_CHROMA_URL": url})
    assert "cannot reach the Chroma server" in one_line_error(p)


def test_an_article_longer_than_one_server_write_is_indexed_whole(chroma_server, make_settings, embedder, tmp_path,
                                                                 remember_vectors):
    from qa_bot.index import ArticleIndex
    from qa_bot.sync import sync
    from tests.test_index import long_article

    index = ArticleIndex(make_settings(chunk_tokens=32, chroma_url=chroma_server, collection="live-long"), embedder)
    remember_vectors(index)
    r = sync(index, long_article(tmp_path / "long"))
    n = {a.id: a.chunks for a in index.articles()}
    assert n["long-log"] > index.client.get_max_batch_size(), "the test article must need more than one write"
    assert sorted(r.added) == ["long-log", "z-short"] and index.count() == n["long-log"] + n["z-short"]
