"""Settings: every knob in one object, read once and passed down.

Precedence, highest first: explicit overrides (CLI flags) > environment ``QA_BOT_*`` >
``qa_bot.toml`` in the working directory > the named preset > defaults. The defaults work
offline with no configuration at all.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .errors import ConfigError, ModelMissingError

PRESET_DIR = Path(__file__).parent / "presets"


def available_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def default_cache_dir() -> Path:
    """Where assembled GGUF files, their prompt caches and the ONNX embedder go when
    ``model_cache_dir`` is not set: the user cache (``~/.cache/qa-bot/models`` on Linux)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("qa-bot")) / "models"


@contextmanager
def making(target: Path, timeout_s: float = 900.0) -> Iterator[None]:
    """Held while this process makes the cached file ``target`` (the assembled GGUF, the ONNX export,
    its int8 copy). Two processes that find it missing at once (two test workers or two servers on
    a fresh machine) then make it one after the other; the caller re-checks ``target`` inside.

    Needed, not just tidy: onnxruntime's quantiser writes a fixed ``<model>-inferred.onnx`` beside
    its input and deletes it, so two at once break each other (seen on a clean CI machine)."""
    from filelock import FileLock, Timeout

    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(f"{target}.lock")
    try:
        lock.acquire(timeout=timeout_s)
    except Timeout:
        raise ModelMissingError(f"another process has been making {target.name} for {timeout_s:.0f} s; "
                                f"if none is running, delete {target}.lock") from None
    try:
        yield
    finally:
        lock.release()


class Settings(BaseSettings):
    """Effective configuration. Field descriptions double as the ``qa-bot config`` help."""

    model_config = SettingsConfigDict(env_prefix="QA_BOT_", toml_file="qa_bot.toml", extra="forbid")

    # where things live
    data_dir: Path = Field(Path(".qa_bot"), description="Index, BM25 cache and eval output live here")
    corpus_dir: Path = Field(Path("corpus"), description="Folder `make run` and `serve` index on start")
    collection: str = Field("articles", description="Chroma collection name")
    chroma_url: str = Field(
        "", description="Chroma server URL (e.g. http://127.0.0.1:8000); empty = local files"
    )

    # ingest
    max_file_mb: float = Field(20.0, gt=0, le=10_000, description="Files larger than this are skipped")
    file_timeout_s: float = Field(60.0, gt=0, le=3600, description="Longest one file may take to read and "
                                  "parse; past it the file is skipped with a reason and the ingest goes on")
    fetch_timeout_s: float = Field(20.0, gt=0, le=600, description="Longest a web page or feed download may take, "
                                   "whole transfer (qa-bot ingest URL / --feed URL; the web UI's URL box)")
    fetch_private: bool = Field(False, description="Let a web UI that others can reach fetch URLs on private "
                                "and local addresses (an intranet news site); off, such URLs are refused there")
    feed_max_items: int = Field(50, ge=1, le=10_000, description="Items read from one feed per fetch (newest first)")
    chunk_tokens: int = Field(180, ge=32, le=256, description="Body word pieces per chunk (MiniLM reads at most 256)")
    embed_batch: int = Field(8, ge=1, le=1024, description="Chunks the embedder reads at once (8 was fastest "
                             "here: 33.7 chunks/s against 28.5 at 32, less padding)")
    embedder_backend: Literal["onnx", "torch"] = Field(
        "onnx", description="MiniLM runtime for questions and the support checker: onnx (fast start, exported once "
        "from the packaged weights) or torch (sentence-transformers, the reference); both give the same vectors"
    )
    index_precision: Literal["fp32", "int8"] = Field(
        "int8", description="MiniLM weights that embed chunks at ingest: int8 (per-channel, 1.7x faster ingest, "
        "0.994 mean cosine to fp32; dev recall@5 0.930, answers 43 of 57 against 42) or fp32 (the exact model). "
        "Questions and the checker always use fp32. A change re-embeds on the next ingest"
    )

    # retrieval
    k: int = Field(5, ge=1, le=20, description="Passages retrieved; the LLM is shown the best sentences of them")
    fetch_k: int = Field(30, ge=1, le=1000, description="Candidates fetched from each of dense and BM25 before fusion")
    news_days: int = Field(
        90, ge=0, le=3650, description="Questions that name no date rank articles from this many days before "
        "the question's date first, as news readers ask about recent news; when the index has followed those days "
        "(an article in each third of them) and none of the passages found is from them, the question is declined "
        "as not in the recent news (0: off)"
    )
    min_relevance: float = Field(
        0.40,
        ge=-1.0,
        le=1.0,
        description="Abstain without asking the LLM when the best passage's cosine similarity is below this "
        "(unless min_question_coverage or the question's names say otherwise)",
    )
    min_question_coverage: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="...but do ask when one passage holds this share of the question's content words",
    )

    # what the model reads
    evidence_chars: int = Field(
        620, ge=200, le=8000, description="Characters of evidence text the LLM reads (~4.3 per token)"
    )
    evidence_items: int = Field(4, ge=1, le=12, description="Most evidence items (sentence windows) shown to the LLM")
    second_look: bool = Field(
        True, description="When a draft is declined, ask once more with twice the evidence before abstaining"
    )

    # LLM
    llm: Literal["default", "small"] = Field(
        "default", description="Local model: default (1.5B) or small (0.5B)"
    )
    llm_url: str = Field("", description="OpenAI-compatible server base URL; set it to use a server instead")
    llm_model: str = Field("", description="Model name to ask the server for")
    llm_api_key: str = Field("", description="API key for the server (many local servers accept anything)")
    llm_timeout_s: float = Field(120.0, gt=0, le=86_400, description="Seconds to wait for the LLM server")
    max_tokens: int = Field(120, ge=16, le=4096, description="Most tokens an answer may have")
    n_ctx: int = Field(4096, ge=512, le=131_072, description="Local model context window")
    n_threads: int = Field(max(1, min(4, os.cpu_count() or 2)), ge=1, le=512, description="Local model CPU threads")
    n_batch: int = Field(512, ge=8, le=8192, description="Local model prompt batch size")
    model_cache_dir: Path | None = Field(
        None, description="Where assembled GGUF files, their prompt caches and the ONNX embedder go (default: user cache)"
    )

    # fidelity
    guard: bool = Field(
        True, description="Keep articles that address the answering model (instructions to an AI, chat-template "
        "tokens, imitations of qa-bot's prompt) out of what it reads; they stay searchable"
    )
    answer_check: bool = Field(
        False, description="After the checks, ask the model (as a grader, in a fresh prompt) whether the answer gives "
        "what the question asks for, by its cited passages, and say the articles don't say when it doubts it: more "
        "honest declines of questions the articles don't answer, a few right answers lost, one more model call "
        "per answer (README, 'How an answer is made')"
    )
    answer_check_threshold: float = Field(
        0.7, ge=0.0, le=1.0, description="P(yes) of the answer check below which an answer is declined (fitted for "
        "the packaged 1.5B model on dev data; a server model may need another)"
    )
    support_threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="Support score above which a sentence counts as supported"
    )

    # eval judge (qa-bot eval --judge): never used to answer
    judge_url: str = Field("", description="OpenAI-compatible server for `qa-bot eval --judge server`")
    judge_model: str = Field("", description="Model name to ask the judge server for")
    judge_threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="P(yes) at which the eval's LLM judge accepts a sentence (calibrated for the "
        "packaged 1.5B model; recalibrate for another with bench/judge_agreement.py)"
    )

    # web
    refresh_sources: bool = Field(
        True, description="`qa-bot serve` refreshes the registered sources in the background (qa-bot sources)"
    )
    journal: bool = Field(
        True, description="Keep each answer given by the web UI, the API and the CLI, its conversation and its "
        "ratings in DATA_DIR/journal.sqlite (rating answers, reopening conversations, `qa-bot feedback`); "
        "false keeps nothing, and answers cannot be rated"
    )
    host: str = Field("127.0.0.1", description="Web UI bind address")
    port: int = Field(7860, ge=0, le=65_535, description="Web UI port (0: any free port, printed at start)")
    max_concurrent_answers: int = Field(
        1, ge=1, le=64, description="Answers generated at once, in the web UI and, separately, in the API"
    )
    api_max_waiting: int = Field(
        8, ge=0, le=1000, description="API requests that may wait for an answer slot; beyond, 429 with Retry-After"
    )
    auth: str = Field(
        "", description="Web UI login as user:password (several: comma-separated); required to serve "
        "on a non-loopback address"
    )
    auth_file: Path | None = Field(None, description="File with one user:password per line (instead of auth)")
    api_key: str = Field(
        "", description="Bearer token the OpenAI-compatible API (/v1) requires; required to serve on a "
        "non-loopback address"
    )

    @field_validator("chroma_url", "llm_url", "judge_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        return v.strip().rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # QA_BOT_CONFIG names another settings file ("" or /dev/null: none), e.g. one per deployment
        path = os.environ.get("QA_BOT_CONFIG", "qa_bot.toml")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=path or None))

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"



def _config_file() -> str:
    name = os.environ.get("QA_BOT_CONFIG", "qa_bot.toml")
    return f"{name} in {Path.cwd()}" if name == "qa_bot.toml" else name


def load_settings(preset: str | None = None, **overrides: Any) -> Settings:
    """Build Settings from a preset, the environment, ``qa_bot.toml`` and explicit overrides.

    Preset values sit below the environment: ``QA_BOT_K=8 qa-bot ask --preset fast`` uses k=8.
    """
    preset = preset or os.environ.get("QA_BOT_PRESET") or None
    base: dict[str, Any] = {}
    if preset:
        path = PRESET_DIR / f"{preset}.json"
        if not path.exists():
            raise ConfigError(f"unknown preset {preset!r}; choose one of: {', '.join(available_presets())}")
        base = json.loads(path.read_text())
    overrides = {k: v for k, v in overrides.items() if v is not None}
    try:
        env_and_file = Settings(**overrides)
        # keep preset values only for fields the env/file/overrides did not set
        explicit = env_and_file.model_fields_set
        merged = {
            **{k: v for k, v in base.items() if k not in explicit},
            **env_and_file.model_dump(include=explicit),
        }
        return Settings(**merged)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        given = f", got {first['input']!r}" if "input" in first and not isinstance(first["input"], dict) else ""
        raise ConfigError(
            f"invalid setting {loc} (QA_BOT_{loc.upper()}, qa_bot.toml or a flag): {first['msg']}{given}"
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{_config_file()} is not valid TOML: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read {_config_file()}: {getattr(e, 'strerror', None) or e}") from None


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(name, effective value, description) for every setting, for ``qa-bot config``."""
    rows = []
    for name, info in Settings.model_fields.items():
        value = getattr(settings, name)
        if name in ("llm_api_key", "auth", "api_key") and value:
            value = "***"
        rows.append((name, str(value), info.description or ""))
    return rows
