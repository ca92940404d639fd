"""Model assembly from part packages: verified, refused on mismatch, clear error when missing."""

from __future__ import annotations

import contextlib
import hashlib
import sys

import pytest

from qa_bot.errors import ModelMissingError
from qa_bot.llms import LOCAL_MODELS, LocalModel, ensure_local_model
from tests.conftest import WORKER_ENV, LoopbackSite


@pytest.fixture
def parts(tmp_path, monkeypatch):
    """Two tiny importable part packages shaped like the real ones (get_part_path())."""
    chunks = [b"GGUF" + b"a" * 1000, b"b" * 777]
    for i, data in enumerate(chunks, 1):
        pkg = tmp_path / "site" / f"qa_test_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "data" / f"part{i:02}.bin").write_bytes(data)
        (pkg / "__init__.py").write_text(
            "import os\ndef get_part_path():\n"
            f"    return os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'part{i:02}.bin')\n"
        )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"".join(chunks)
    yield whole
    for i in (1, 2):
        sys.modules.pop(f"qa_test_part{i}", None)


def _model(whole: bytes, sha: str | None = None) -> LocalModel:
    return LocalModel(
        "t",
        "Test Model",
        "qa_test_part",
        "qa-test-part",
        "0.1",
        2,
        len(whole),
        sha or hashlib.sha256(whole).hexdigest(),
    )


def test_parts_are_assembled_and_verified(parts, tmp_path):
    path = ensure_local_model(_model(parts), tmp_path / "cache", progress=False)
    assert path.read_bytes() == parts
    # second call trusts the stamp and does not rewrite the file
    mtime = path.stat().st_mtime_ns
    assert ensure_local_model(_model(parts), tmp_path / "cache", progress=False).stat().st_mtime_ns == mtime


def test_hash_mismatch_is_refused_and_leaves_no_file(parts, tmp_path):
    with pytest.raises(ModelMissingError, match="refusing to load"):
        ensure_local_model(_model(parts, sha="0" * 64), tmp_path / "cache", progress=False)
    assert not any((tmp_path / "cache").glob("*.gguf"))


def test_tampered_cache_file_is_rebuilt(parts, tmp_path):
    path = ensure_local_model(_model(parts), tmp_path / "cache", progress=False)
    path.write_bytes(b"X" * len(parts))
    assert ensure_local_model(_model(parts), tmp_path / "cache", progress=False).read_bytes() == parts


def test_missing_part_package_says_how_to_install(tmp_path):
    m = LocalModel("t", "Nope", "qa_no_such_part", "qa-no-such-part", "1.0", 3, 10, "0" * 64)
    with pytest.raises(ModelMissingError, match=r"pip install qa-no-such-part1==1.0"):
        ensure_local_model(m, tmp_path, progress=False)


def test_real_model_packages_are_installed_and_match_the_official_size():
    for model in LOCAL_MODELS.values():
        from qa_bot.llms import _part_paths

        assert sum(p.stat().st_size for p in _part_paths(model)) == model.size


@pytest.mark.integration
@pytest.mark.slow  # loads the real 0.5B model; the rest of this module needs no weights (fast lane)
def test_saved_system_prefix_is_restored_and_changes_no_answer(tmp_path):
    """The fixed system prompt's KV state is computed once, saved, and restored by a new model
    instance (a new process); answers at temperature 0 are the same as without it. Real 0.5B model."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from qa_bot import prompts
    from qa_bot.llms import LlamaCppChat

    gguf = str(ensure_local_model(LOCAL_MODELS["small"], progress=False))
    messages = [SystemMessage(prompts.ANSWER_SYSTEM),
                HumanMessage("Passages:\n[1] Bridge Reopens (2024-05-14)\nThe Harbor Bridge reopened on Monday "
                             "after repairs that cost $48.5 million.\n\nQuestion: How much did the repairs cost?\n"
                             "Answer (cite passages like [1]):")]

    def model(**kw) -> LlamaCppChat:
        return LlamaCppChat(model_path=gguf, n_ctx=2048, max_tokens=24, state_dir=str(tmp_path / "states"),
                            n_threads=int(WORKER_ENV.get("QA_BOT_N_THREADS", 2)), **kw)

    plain = model().invoke(messages).text
    first = model(prefix_system=prompts.ANSWER_SYSTEM)
    assert first.invoke(messages).text == plain
    [saved] = (tmp_path / "states").glob("prefix-*.npz")
    again = model(prefix_system=prompts.ANSWER_SYSTEM)
    again.load()
    assert again._prefix is not None and again._llama.n_tokens == len(again._prefix[0])  # restored, not recomputed
    assert again.invoke(messages).text == plain == again.invoke(messages).text
    assert "48.5" in plain
    # a changed system prompt replaces this model's saved prefix instead of piling up beside it
    model(prefix_system=prompts.ANSWER_SYSTEM + " Be brief.").load()
    [replaced] = (tmp_path / "states").glob("prefix-*.npz")
    assert replaced != saved


@pytest.mark.integration
@pytest.mark.slow  # loads the real 0.5B model
def test_a_prompt_gets_the_same_answer_whatever_was_asked_before(tmp_path):
    """The same passages and question give the same draft, to the last probability, whichever
    question came before. Reusing the previous prompt's longer shared start (the passages here)
    read the rest in other batches, and the probabilities moved by ~0.02: enough to flip a
    near-tie token, and an eval's answer with it. Real 0.5B model."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from qa_bot import prompts
    from qa_bot.llms import LlamaCppChat

    gguf = str(ensure_local_model(LOCAL_MODELS["small"], progress=False))
    llm = LlamaCppChat(model_path=gguf, n_ctx=2048, max_tokens=16, state_dir=str(tmp_path),
                       prefix_system=prompts.ANSWER_SYSTEM, n_threads=int(WORKER_ENV.get("QA_BOT_N_THREADS", 2)))
    passages = ("Passages:\n[1] Bridge Reopens (2024-05-14)\nThe Harbor Bridge reopened on Monday after repairs "
                "that cost $48.5 million. About 11,000 vehicles a day will cross it, and a toll of $2 applies "
                "until the end of 2026.\n[2] Ferry Schedule Changes (2024-05-20)\nThe Gull Island ferry will run "
                "every 40 minutes in summer.\n\n")

    def ask(question: str) -> list[tuple[str, float]]:
        llm.invoke([SystemMessage(prompts.ANSWER_SYSTEM),
                    HumanMessage(f"{passages}Question: {question}\nAnswer (cite passages like [1]):")])
        return llm.last_token_probs

    asked = "How many vehicles a day will cross the bridge?"
    first = ask(asked)
    assert "11,000" in "".join(t for t, _ in first)
    for before in ("How much did the repairs cost?", "When does the toll end?", "How often does the ferry run?"):
        ask(before)
        assert ask(asked) == first, before


@pytest.mark.integration
@pytest.mark.slow  # loads the real 0.5B model
def test_one_thread_means_one_thread_for_reading_the_prompt_too():
    """llama-cpp-python reads prompts with one thread per CPU unless told otherwise; a model set to
    one thread (a test worker, or a second process sharing the machine) must use one for both,
    or the spare threads spin against the other process. Real 0.5B model."""
    from qa_bot.llms import LlamaCppChat

    gguf = str(ensure_local_model(LOCAL_MODELS["small"], progress=False))
    llama = LlamaCppChat(model_path=gguf, n_ctx=512, n_threads=1).load()
    assert (llama.context_params.n_threads, llama.context_params.n_threads_batch) == (1, 1)


_MAKER = """
import sys, time
from pathlib import Path
from qa_bot.config import making
target, log = Path(sys.argv[1]), Path(sys.argv[2])
with making(target):
    if not target.exists():
        with open(log, "a") as f:
            f.write("made\\n")
        time.sleep(0.5)  # the other process arrives while this one is still making the file
        target.write_text("model")
print(target.read_text())
"""


def test_two_processes_that_miss_a_cached_model_make_it_once_and_both_get_it(tmp_path):
    """Two test workers or two servers on a fresh machine: the second waits and finds the file made
    (onnxruntime's quantiser breaks when two run at once; CI saw it)."""
    import subprocess

    target, log = tmp_path / "cache" / "model.onnx", tmp_path / "log"
    procs = [subprocess.Popen([sys.executable, "-c", _MAKER, str(target), str(log)], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs == ["model\n", "model\n"]
    assert log.read_text() == "made\n"


def test_a_lock_nobody_releases_gives_a_clear_error(tmp_path):
    import subprocess

    from filelock import FileLock

    from qa_bot.config import making

    target = tmp_path / "model.onnx"
    with FileLock(f"{target}.lock"):
        code = ("import sys; from pathlib import Path; from qa_bot.config import making\n"
                "with making(Path(sys.argv[1]), timeout_s=0.2): pass")
        run = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "another process has been making model.onnx" in run.stderr
    with making(target, timeout_s=1):  # released: free again
        pass


def assert_barring_works(llm) -> None:
    """``barring`` makes ``llm``'s "not found" marker impossible (the second look after one):
    unbarred, an off-topic prompt gets the marker, barred it does not, and a prompt that never
    led to it gets the same answer either way."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from qa_bot import policy, prompts
    from qa_bot.llms import barring

    def ask(model, passage: str, question: str) -> str:
        return model.invoke([SystemMessage(prompts.ANSWER_SYSTEM),
                             HumanMessage(f"Passages:\n[1] Bridge Reopens (2024-05-14)\n{passage}\n\n"
                                          f"Question: {question}\nAnswer (cite passages like [1]):")]).text

    off_topic = ("The Harbor Bridge reopened on Monday.", "Who won the chess olympiad in Oslo?")
    assert prompts.NOT_FOUND in ask(llm, *off_topic)
    barred = barring(llm, prompts.NOT_FOUND_SPELLINGS)
    # in no spelling: barred from "NOT" alone, the 1.5B model wrote "Not_IN_ARTICLES"
    assert barred is not None and not policy.model_declined(ask(barred, *off_topic))
    on_topic = ("The Harbor Bridge reopened on Monday after repairs that cost $48.5 million.",
                "How much did the repairs cost?")
    assert ask(barred, *on_topic) == ask(llm, *on_topic)
    assert barring(object(), prompts.NOT_FOUND_SPELLINGS) is None


@pytest.mark.integration
@pytest.mark.slow  # loads the real 0.5B model
def test_a_barred_marker_is_never_said_and_nothing_else_changes(tmp_path):
    """The local model is barred through its own tokenizer (a llama.cpp logits processor). The
    same for a model behind a server: tests/test_integration.py. Real 0.5B model."""
    from qa_bot.llms import LlamaCppChat

    gguf = str(ensure_local_model(LOCAL_MODELS["small"], progress=False))
    assert_barring_works(LlamaCppChat(model_path=gguf, n_ctx=2048, max_tokens=24, state_dir=str(tmp_path / "states"),
                                      n_threads=int(WORKER_ENV.get("QA_BOT_N_THREADS", 2))))


@contextlib.contextmanager
def tokenizer_site(path: str | None, field: str = "", bos: tuple[int, ...] = (), port: int = 0):
    """A loopback server that tokenizes like one kind of LLM server: only at ``path``, only for
    requests with ``field`` (422 for another /tokenize shape, 404 elsewhere, as the real ones
    answer); ``path`` None has no tokenizer at all (a hosted API). Yields (base URL, paths asked)."""
    import json
    import threading
    from http.server import ThreadingHTTPServer

    asked: list[str] = []
    vocab = (4183, 2158, 59156)  # "NOT", "_IN", "_ARTICLES" in the Qwen vocabulary

    class Site(LoopbackSite):
        def do_POST(self) -> None:
            asked.append(self.path)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path != path or field not in body:
                return self._send(422 if self.path == "/tokenize" else 404, "application/json", b"{}")
            ids = [*bos, *(vocab if body[field] else ())]
            self._send(200, "application/json", json.dumps({"tokens": ids}).encode())

    server = ThreadingHTTPServer(("127.0.0.1", port), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1", asked
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("path, field, bos", [
    ("/tokenize", "content", ()),  # llama.cpp's llama-server: {"content", "add_special"}
    ("/tokenize", "prompt", ()),  # vLLM: {"model", "prompt", "add_special_tokens"}
    ("/extras/tokenize", "input", (1,)),  # llama-cpp-python's server adds a model's BOS to every text
])
def test_the_marker_token_is_read_from_whichever_tokenize_endpoint_the_server_has(path, field, bos):
    """The id barred is the marker's first token in the server's own tokenizer, from the
    endpoint that server has; a BOS the server puts before every text is not that token."""
    from langchain_openai import ChatOpenAI

    from qa_bot.llms import barring

    with tokenizer_site(path, field, bos) as (url, _):
        barred = barring(ChatOpenAI(base_url=url, model="m", api_key="k"), ["NOT_IN_ARTICLES"])
        assert barred is not None and barred.kwargs == {"logit_bias": {"4183": -100}}


def test_a_server_that_cannot_tokenize_is_not_barred_and_one_that_was_down_is_asked_again():
    """A server with no tokenize endpoint (a hosted API) leaves the model unbarred, and is asked
    only once; the second look then asks the model as before. A server that could not be
    reached is asked again at the next decline, and barred once it is up."""
    from langchain_openai import ChatOpenAI

    from qa_bot.llms import barring
    from tests.conftest import closed_port

    with tokenizer_site(None) as (url, asked):
        hosted = ChatOpenAI(base_url=url, model="m", api_key="k")
        assert barring(hosted, ["NOT_IN_ARTICLES"]) is None
        assert asked == ["/tokenize", "/tokenize", "/extras/tokenize"]
        assert barring(hosted, ["NOT_IN_ARTICLES"]) is None and len(asked) == 3
    with closed_port() as port:
        down = ChatOpenAI(base_url=f"http://127.0.0.1:{port}/v1", model="m", api_key="k")
        assert barring(down, ["NOT_IN_ARTICLES"]) is None
    with tokenizer_site("/tokenize", "content", port=port):
        assert barring(down, ["NOT_IN_ARTICLES"]) is not None


def test_token_probabilities_join_to_the_answer_when_a_character_spans_two_tokens():
    """The eval records each draft token with its probability; "€" is three bytes that a
    tokenizer may split over two tokens, and neither half alone is a character."""
    from qa_bot.llms import LlamaCppChat

    euro = "€".encode()
    pieces = {1: b"2 million ", 2: euro[:1], 3: euro[1:] + b" each", 4: b"."}

    class Detokenizer:  # llama.cpp's detokenize: token ids -> bytes
        def detokenize(self, ids):
            return b"".join(pieces[i] for i in ids)

    chat = LlamaCppChat(model_path="unused.gguf")
    chat._llama = Detokenizer()
    chat._tops = [(1, 0.9), (2, 0.5), (3, 0.99), (4, 0.8)]
    got = chat.last_token_probs
    assert "".join(t for t, _ in got) == "2 million € each."
    assert [p for _, p in got] == [0.9, 0.5, 0.99, 0.8]
