"""Shared fixtures: the real embedder, real Chroma in temp dirs, the real local LLM.

Heavy things are session-scoped so the suite loads each model once.

Two lanes. ``make test`` runs everything with the real models. ``make test-fast``
(QA_BOT_TEST_LANE=fast) runs, in under a minute, every test that needs no model weights: the
``embedder`` fixture is then tests/fakes.HashingEmbedder, and tests that need the real models
and the slow ones (the ``slow`` mark, the LLM fixtures, the modules in ``_SLOW_MODULES``) are
left out.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
TEST_CORPUS = DATA / "corpus"
SEED_CORPUS = ROOT / "corpus"
OUTPUT = ROOT / "test-output"

# `make test` runs the suite on two pytest-xdist workers (one per core). Each worker's llama.cpp
# then gets one thread: its threads spin while they wait, so two processes with two threads
# each on 2 cores slow each other 10-50x. (On this machine one thread reads as fast as two.)
WORKER_ENV = {"QA_BOT_N_THREADS": "1"} if os.environ.get("PYTEST_XDIST_WORKER") else {}
os.environ.update(WORKER_ENV)


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a `qa-bot` process a test starts: none of the developer's QA_BOT_*
    variables, and no qa_bot.toml (QA_BOT_CONFIG points at an empty file, whatever the
    working directory holds), plus ``extra``. A test of the settings file sets QA_BOT_CONFIG."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")}
    return {**env, "QA_BOT_CONFIG": os.devnull, **WORKER_ENV, **(extra or {})}


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch):
    """No test may pick up a developer's QA_BOT_* environment or qa_bot.toml."""
    for key in list(os.environ):
        if key.startswith("QA_BOT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("QA_BOT_CONFIG", os.devnull)
    for key, value in WORKER_ENV.items():
        monkeypatch.setenv(key, value)


FAST_LANE = os.environ.get("QA_BOT_TEST_LANE") == "fast"
# whole modules that start `qa-bot` processes, servers or a browser, run the real LLM, or
# ingest large or many files throughout
_SLOW_MODULES = {"test_web", "test_api", "test_integration", "test_judges", "test_stress", "test_chroma_server",
                 "test_terminal", "test_injection", "test_more_ways_in", "test_hostile_ingest"}
_SLOW_FIXTURES = {"seed_assistant", "llama_server"}


# The longest modules first (by their summed test times in an idle two-worker run, 2026-12-02), so
# that on two xdist workers (`--dist loadfile --no-loadscope-reorder`) no long module starts last
# while the other worker idles. The others follow in their usual order.
_LONGEST_FIRST = ["test_web", "test_cli", "test_api", "test_judges", "test_integration", "test_evaluation",
                  "test_chroma_server", "test_more_ways_in", "test_hostile_ingest", "test_terminal", "test_stress",
                  "test_injection", "test_index", "test_sources", "test_llms"]


def _module(item) -> str:
    return item.module.__name__.split(".")[-1]


def pytest_collection_modifyitems(config, items):
    if not FAST_LANE:
        rank = {name: i for i, name in enumerate(_LONGEST_FIRST)}
        items.sort(key=lambda item: rank.get(_module(item), len(rank)))  # stable: each module keeps its order
        return
    keep, drop = [], []
    for item in items:
        needs = (item.get_closest_marker("slow") is not None or _module(item) in _SLOW_MODULES
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


@contextlib.contextmanager
def closed_port():
    """A loopback port that refuses every connection for as long as it is held: bound, never
    listening (a port that was only picked and released could be taken by anyone meanwhile)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def start_server(launch, ready, what: str, timeout: float = 120):
    """Start a server that takes its port on the command line (``launch(port) -> Popen``) and
    wait until ``ready(port)``. The port is picked free just before; if another process takes it
    in between, the server exits at start and is launched again on another port (3 tries).
    Returns (process, port)."""
    import socket
    import time

    for _ in range(3):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = launch(port)
        deadline = time.time() + timeout
        while time.time() < deadline and proc.poll() is None:
            if ready(port):
                return proc, port
            time.sleep(0.5)
        if proc.poll() is None:
            proc.kill()
            pytest.fail(f"{what} did not start in {timeout:.0f} s")
    pytest.fail(f"{what} exited at start three times")


@pytest.fixture(scope="session")
def llama_server():
    """A real `python -m llama_cpp.server` with the small local model on a free loopback port,
    shared by the tests that talk to an OpenAI-compatible server. Yields its /v1 base URL."""
    import subprocess
    import sys
    import urllib.request

    from qa_bot.llms import LOCAL_MODELS, ensure_local_model

    gguf = ensure_local_model(LOCAL_MODELS["small"], progress=False)
    threads = WORKER_ENV.get("QA_BOT_N_THREADS", "2")  # prompt reading too: its default is every CPU

    def launch(port: int) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port",
             str(port), "--n_ctx", "4096", "--n_threads", threads, "--n_threads_batch", threads, "--model_alias", "qwen-small"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def ready(port: int) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
            return True
        except OSError:
            return False

    server, port = start_server(launch, ready, "llama_cpp.server")
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait(timeout=30)


def start_qa_bot_serve(tmp: Path, env: dict[str, str], host: str = "127.0.0.1"):
    """`qa-bot serve --port 0` as a user starts it, with a clean QA_BOT_* environment plus ``env``:
    the server binds a free port itself and prints it (no port is picked, released and then
    bound, which another process could take in between). Returns (process, base URL) once the web
    UI answers. The caller terminates it."""
    import re
    import subprocess
    import sys
    import time
    import urllib.request

    full = clean_env(env)
    log_path = tmp / "server.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "qa_bot.cli", "serve", "--host", host, "--port", "0"],
                            cwd=ROOT, env=full, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 180
    base = None
    while time.time() < deadline:
        if base is None and (m := re.search(r"qa-bot web UI: http://\S+?:(\d+)", log_path.read_text())):
            base = f"http://127.0.0.1:{m[1]}"
        if base is not None:
            try:
                urllib.request.urlopen(base + "/", timeout=2)
                return proc, base
            except OSError:
                pass
        if proc.poll() is not None:
            pytest.fail(log_path.read_text())
        time.sleep(0.5)
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


def scripted(*replies: str, grades: tuple[str, ...] = ()):
    """The one fake chat model of the suite (LangChain's GenericFakeChatModel): answers with
    ``replies`` in order, then the last one again (a declined draft gets a second look), and
    keeps the last message of every prompt it was sent in ``.prompts``. For tests whose subject
    is the code around the model: citation parsing, the checker, the answer rules.

    Asked as the answer check's grader (prompts.ANSWER_CHECK_SYSTEM), it replies with ``grades``
    in order, then "yes" (so a test about something else sees its answer through), and keeps
    those prompts in ``.graded`` instead."""
    import itertools

    from langchain_core.language_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    from qa_bot.prompts import ANSWER_CHECK_SYSTEM

    verdicts = itertools.chain(grades, itertools.repeat("yes"))

    class Scripted(GenericFakeChatModel):
        prompts: list[str] = []
        graded: list[str] = []

        def _generate(self, messages, *args, **kwargs):
            if messages and messages[0].content == ANSWER_CHECK_SYSTEM:
                self.graded.append(str(messages[-1].content))
                return ChatResult(generations=[ChatGeneration(message=AIMessage(content=next(verdicts)))])
            self.prompts.append(str(messages[-1].content))
            return super()._generate(messages, *args, **kwargs)

    messages = itertools.chain((AIMessage(content=r) for r in replies),
                               itertools.repeat(AIMessage(content=replies[-1]))) if replies else iter([])
    return Scripted(messages=messages, prompts=[], graded=[])


class LoopbackSite(BaseHTTPRequestHandler):
    """Base of the tests' news sites on 127.0.0.1: quiet, and one way to answer."""

    def log_message(self, *args) -> None:
        pass

    def _send(self, code: int, kind: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
