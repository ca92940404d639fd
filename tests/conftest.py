"""Shared fixtures: the real embedder, real Chroma in temp dirs, the real local LLM.

Heavy things are session-scoped so the suite loads each model once.

Two lanes. ``make test`` runs everything with the real models. ``make test-fast``
(QA_BOT_TEST_LANE=fast) runs, in under a minute, every test that needs no model weights: the
``embedder`` fixture is then tests/fakes.HashingEmbedder, and tests that need the real models
and the slow ones (the ``slow`` mark, the LLM fixtures, the modules in ``_SLOW_MODULES``) are
left out.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
TEST_CORPUS = DATA / "corpus"
SEED_CORPUS = ROOT / "corpus"
OUTPUT = ROOT / "test-output"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch):
    """No test may pick up a developer's QA_BOT_* environment or qa_bot.toml."""
    for key in list(os.environ):
        if key.startswith("QA_BOT_"):
            monkeypatch.delenv(key)


FAST_LANE = os.environ.get("QA_BOT_TEST_LANE") == "fast"
# whole modules that start `qa-bot` processes, servers or a browser, run the real LLM, or
# ingest large or many files throughout
_SLOW_MODULES = {"test_web", "test_api", "test_integration", "test_judges", "test_stress", "test_chroma_server",
                 "test_terminal", "test_injection", "test_llms", "test_more_ways_in", "test_hostile_ingest"}
_SLOW_FIXTURES = {"seed_assistant", "llama_server"}


def pytest_collection_modifyitems(config, items):
    if not FAST_LANE:
        return
    keep, drop = [], []
    for item in items:
        needs = (item.get_closest_marker("slow") is not None or item.module.__name__.split(".")[-1] in _SLOW_MODULES
                 or _SLOW_FIXTURES & set(getattr(item, "fixturenames", ())))
        (drop if needs else keep).append(item)
    items[:] = keep
    config.hook.pytest_deselected(items=drop)


@pytest.fixture(scope="session", autouse=True)
def _no_weights_in_the_fast_lane():
    """A test in the fast lane that loads a model fails at once, instead of making the lane slow."""
    if not FAST_LANE:
        yield
        return
    from qa_bot import embedder, llms

    def refuse(*args, **kwargs):
        raise AssertionError("the fast lane loads no model weights: mark this test @pytest.mark.slow")

    saved = embedder.model_dir, llms.ensure_local_model
    embedder.model_dir = llms.ensure_local_model = refuse
    yield
    embedder.model_dir, llms.ensure_local_model = saved


@pytest.fixture(scope="session")
def embedder():
    """The real MiniLM embedder; in the fast lane, a weightless stand-in (tests/fakes.py)."""
    if FAST_LANE:
        from tests.fakes import HashingEmbedder

        return HashingEmbedder()
    from qa_bot.index import Embedder

    return Embedder()


@pytest.fixture
def make_settings(tmp_path):
    from qa_bot.config import load_settings

    def make(**kw):
        kw.setdefault("data_dir", tmp_path / "data")
        return load_settings(**kw)

    return make


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the team's test corpus."""
    dst = tmp_path / "corpus"
    shutil.copytree(TEST_CORPUS, dst)
    return dst


@pytest.fixture(scope="session")
def seed_assistant(tmp_path_factory, embedder):
    """The real pipeline over the seed article: real embedder, real Chroma, real local LLM."""
    from qa_bot.assistant import Assistant
    from qa_bot.config import load_settings

    settings = load_settings(data_dir=tmp_path_factory.mktemp("seed-data"))
    assistant = Assistant(settings, progress=False, embedder=embedder)
    report = assistant.ingest(SEED_CORPUS)
    assert report.added == ["000_0cd96bd9d1e8fa7f"]
    return assistant


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


@pytest.fixture(scope="session")
def llama_server():
    """A real `python -m llama_cpp.server` with the small local model on a free loopback port,
    shared by the tests that talk to an OpenAI-compatible server. Yields its /v1 base URL."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from qa_bot.llms import LOCAL_MODELS, ensure_local_model

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gguf = ensure_local_model(LOCAL_MODELS["small"], progress=False)
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "4096", "--n_threads", "2", "--model_alias", "qwen-small"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail("llama_cpp.server exited at start")
                time.sleep(1)
        else:
            pytest.fail("llama_cpp.server did not start")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait(timeout=30)


def start_qa_bot_serve(tmp: Path, env: dict[str, str], host: str = "127.0.0.1"):
    """`qa-bot serve` as a user starts it, on a free port with a clean QA_BOT_* environment plus
    ``env``; returns (process, base URL) once the web UI answers. The caller terminates it."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    full = {k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")} | env
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "qa_bot.cli", "serve", "--host", host, "--port", str(port)],
                            cwd=ROOT, env=full, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            urllib.request.urlopen(base + "/", timeout=2)
            return proc, base
        except OSError:
            if proc.poll() is not None:
                pytest.fail((tmp / "server.log").read_text())
            time.sleep(1)
    proc.kill()
    pytest.fail("server did not start")


_REMEMBERED: dict[str, object] = {}


@pytest.fixture
def remember_vectors(monkeypatch):
    """``remember_vectors(index)``: the index's chunk embedder keeps each text's vector for the
    rest of the session (the real model's output, computed once per distinct text). The
    long-article tests, local and on a server, embed the ~40 distinct texts of their ~6,000
    chunks once between them."""
    import numpy as np

    def patch(index) -> None:
        emb = index.chunk_embedder
        real = emb.embed

        def embed(texts: list[str], batch_size: int = 32):
            todo = [t for t in dict.fromkeys(texts) if t not in _REMEMBERED]
            if todo:
                _REMEMBERED.update(zip(todo, real(todo, batch_size), strict=True))
            return np.stack([_REMEMBERED[t] for t in texts])

        monkeypatch.setattr(emb, "embed", embed)

    return patch


def scripted(*replies: str):
    """The one fake chat model of the suite (LangChain's GenericFakeChatModel): answers with
    ``replies`` in order, then the last one again (a declined draft gets a second look), and
    keeps the last message of every prompt it was sent in ``.prompts``. For tests whose subject
    is the code around the model: citation parsing, the checker, the answer rules."""
    import itertools

    from langchain_core.language_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    class Scripted(GenericFakeChatModel):
        prompts: list[str] = []

        def _generate(self, messages, *args, **kwargs):
            self.prompts.append(str(messages[-1].content))
            return super()._generate(messages, *args, **kwargs)

    messages = itertools.chain((AIMessage(content=r) for r in replies),
                               itertools.repeat(AIMessage(content=replies[-1]))) if replies else iter([])
    return Scripted(messages=messages, prompts=[])
