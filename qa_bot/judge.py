"""Independent fidelity judges for the eval harness (never used to answer).

The answer path's support checker (fidelity.py) already removed every sentence it thought
unsupported, so judging answers with it again can only say 1.0. A judge here is a second
opinion of a different kind:

- ``LocalJudge``: the local LLM is asked whether the passages state what a sentence says; the
  score is P(yes) / (P(yes) + P(no)) read from the next-token logits, not parsed from text,
  so it can be thresholded and calibrated (DEFAULT_THRESHOLD, fitted on the calibration half
  of tests/data/support_pairs.jsonl only).
- ``ServerJudge``: the same question to an OpenAI-compatible server, P(yes) from the
  returned top log-probabilities of the first token.
- ``LexicalJudge``: the answer side's own scorer, for comparison.

Every judge caches its verdicts in a JSONL file keyed by (sentence, passages), so a re-run
of an eval judges only what is new.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import ConfigError, LLMUnavailableError
from .llms import p_yes_from_choice
from .prompts import JUDGE_SYSTEM, JUDGE_USER

# P(yes) at or above which a judge accepts a sentence (QA_BOT_JUDGE_THRESHOLD): the best
# agreement on the calibration half of tests/data/support_pairs.jsonl for the packaged 1.5B model
# and this prompt (calibrate(); test_judges.py re-derives it there and measures the other half).
# A server running another model should be recalibrated: `python bench/judge_agreement.py --judge server`.
DEFAULT_THRESHOLD = 0.5


class Judge:
    """Scores how well ``passages`` support ``sentence`` in [0, 1]; ``supported`` thresholds it."""

    name = "judge"
    threshold = 0.5
    identity = ""  # which model judges: part of the cache key, so switching models never reuses verdicts

    def __init__(self, cache: Path | None = None) -> None:
        self._cache: dict[str, float] = {}
        self._cache_path = cache
        self._lock = threading.Lock()
        if cache and cache.exists():
            for line in cache.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                    self._cache[row["key"]] = float(row["p"])
                except (ValueError, KeyError):
                    continue

    def probability(self, sentence: str, passages: Sequence[str]) -> float:
        key = hashlib.sha256(
            json.dumps([self.name, self.identity, JUDGE_SYSTEM, JUDGE_USER, sentence, list(passages)]).encode()
        ).hexdigest()[:24]
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        p = self._score(sentence, passages)
        with self._lock:
            self._cache[key] = p
            if self._cache_path:
                self._cache_path.parent.mkdir(parents=True, exist_ok=True)
                with self._cache_path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps({"key": key, "p": round(p, 5)}) + "\n")
        return p

    def supported(self, sentence: str, passages: Sequence[str]) -> bool:
        return bool(passages) and self.probability(sentence, passages) >= self.threshold

    def _score(self, sentence: str, passages: Sequence[str]) -> float:
        raise NotImplementedError


def _passages_text(passages: Sequence[str]) -> str:
    """The passages as the judge reads them. Evidence items of one article share their first line
    (headline and date); it is written once, above all of that article's items, which saves
    ~15 tokens per repeated item when a sentence is judged against everything shown."""
    groups: dict[str, list[str]] = {}
    for p in passages:
        head, sep, body = p.partition("\n")
        key = head if sep and body.strip() else p
        groups.setdefault(key, [])
        if key != p:
            groups[key].append(" ".join(body.split()))
    return "\n\n".join(" ".join(k.split()) + "".join("\n" + b for b in bodies) for k, bodies in groups.items())


def _messages(sentence: str, passages: Sequence[str]) -> list[dict[str, str]]:
    text = _passages_text(passages)
    return [
        {"role": "system", "content": JUDGE_SYSTEM},
        {"role": "user", "content": JUDGE_USER.format(passages=text, sentence=" ".join(sentence.split()))},
    ]


class LocalJudge(Judge):
    """The local GGUF model, read through its next-token logits (llama-cpp-python)."""

    name = "local"

    def __init__(self, llm: Any, cache: Path | None = None, threshold: float = DEFAULT_THRESHOLD) -> None:
        super().__init__(cache)
        self.threshold = threshold
        self._llm = llm  # llms.LlamaCppChat: loaded on first use, shared with the answer path
        self.identity = Path(getattr(llm, "model_path", "")).name

    def _score(self, sentence: str, passages: Sequence[str]) -> float:
        return self._llm.yes_probability(_messages(sentence, passages))


class ServerJudge(Judge):
    """An OpenAI-compatible server (``QA_BOT_JUDGE_URL``): P(yes) from the first token's top log-probabilities."""

    name = "server"

    def __init__(self, url: str, model: str = "", api_key: str = "", timeout: float = 120.0,
                 cache: Path | None = None, threshold: float = DEFAULT_THRESHOLD) -> None:
        super().__init__(cache)
        self.threshold = threshold
        self.url, self.model, self.api_key, self.timeout = url.rstrip("/"), model, api_key, timeout
        self.identity = f"{self.url} {model}"

    def _score(self, sentence: str, passages: Sequence[str]) -> float:
        import httpx

        body = {"messages": _messages(sentence, passages), "max_tokens": 1, "temperature": 0,
                "logprobs": True, "top_logprobs": 10}
        if self.model:
            body["model"] = self.model
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            r = httpx.post(f"{self.url}/chat/completions", json=body, headers=headers, timeout=self.timeout)
            r.raise_for_status()
            choice = r.json()["choices"][0]
        except (httpx.HTTPError, ValueError, KeyError, IndexError) as e:
            raise LLMUnavailableError(f"the judge server at {self.url} failed ({type(e).__name__}: {str(e)[:120]})") from None
        return p_yes_from_choice(choice)


class LexicalJudge(Judge):
    """The answer side's own support scorer (fidelity.py): agreeing with the checker by construction."""

    name = "lexical"

    def __init__(self, scorer: Any) -> None:
        super().__init__(None)
        self._scorer = scorer

    def supported(self, sentence: str, passages: Sequence[str]) -> bool:
        return bool(passages) and self._scorer.score(sentence, list(passages)).supported

    def _score(self, sentence: str, passages: Sequence[str]) -> float:
        return self._scorer.score(sentence, list(passages)).score


JUDGES = ("local", "server", "lexical")


def default_judge(settings: Any) -> str:
    """``local`` when the packaged model is installed, else ``server`` when one is set, else ``lexical``."""
    from .llms import LOCAL_MODELS, local_model_installed

    if local_model_installed(LOCAL_MODELS[settings.llm]):
        return "local"
    return "server" if settings.judge_url else "lexical"


def make_judge(name: str, assistant: Any, cache_dir: Path | None) -> Judge:
    settings = assistant.settings
    cache = cache_dir / f"judge-{name}.jsonl" if cache_dir else None
    if name == "lexical":
        return LexicalJudge(assistant.scorer)
    if name == "server":
        if not settings.judge_url:
            raise ConfigError("--judge server needs QA_BOT_JUDGE_URL (an OpenAI-compatible server, e.g. http://host:8080/v1)")
        return ServerJudge(settings.judge_url, settings.judge_model, settings.llm_api_key, settings.llm_timeout_s,
                           cache, settings.judge_threshold)
    if name == "local":
        from .llms import LlamaCppChat, make_chat_model

        llm = assistant.llm if isinstance(assistant.llm, LlamaCppChat) else make_chat_model(
            settings.model_copy(update={"llm_url": ""}), progress=assistant.progress)
        return LocalJudge(llm, cache, settings.judge_threshold)
    raise ConfigError(f"unknown judge {name!r}; choose one of {', '.join(JUDGES)}")


def load_pairs(path: Path) -> list[dict]:
    """Hand-labelled (sentence, passage, supported, kind, split) rows; see tests/data/support_pairs.jsonl."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def agreement(verdicts: Sequence[bool], labels: Sequence[bool]) -> tuple[float, float]:
    """(share of verdicts equal to the labels, share of unsupported pairs accepted)."""
    agree = sum(v == y for v, y in zip(verdicts, labels, strict=True)) / len(labels)
    negatives = [v for v, y in zip(verdicts, labels, strict=True) if not y]
    return agree, (sum(negatives) / len(negatives) if negatives else 0.0)


def calibrate(probabilities: Sequence[float], labels: Sequence[bool],
              grid: Sequence[float] = tuple(x / 10 for x in range(1, 10))) -> float:
    """The threshold on ``grid`` with the best agreement; ties go to the one that accepts fewer
    unsupported sentences (a false accept is the costlier mistake), then to the lower one."""
    def key(t: float) -> tuple[float, float, float]:
        agree, false_accept = agreement([p >= t for p in probabilities], labels)
        return (-agree, false_accept, t)

    return min(grid, key=key)
