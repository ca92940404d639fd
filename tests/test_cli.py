"""The CLI as a user runs it (subprocesses): help, errors in one line, JSON schema."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SEED_CORPUS, TEST_CORPUS, clean_env, closed_port


def qa(*args, data_dir, env=None, timeout=600):
    e = clean_env()
    e.update({"QA_BOT_DATA_DIR": str(data_dir), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "qa_bot.cli", *args],
        capture_output=True,
        text=True,
        env=e,
        cwd=ROOT,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def seeded_once(tmp_path_factory):
    """A data dir with the seed article indexed by `qa-bot ingest`, made once per module."""
    data = tmp_path_factory.mktemp("seeded")
    assert qa("ingest", "-q", str(SEED_CORPUS), data_dir=data).returncode == 0
    return data


@pytest.fixture
def seeded(seeded_once, tmp_path):
    """A copy of it for one test to change as it likes."""
    import shutil

    shutil.copytree(seeded_once, tmp_path, dirs_exist_ok=True)
    return tmp_path


def one_line_error(proc) -> str:
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines and lines[-1].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[-1]


def test_help_teaches(tmp_path):
    p = qa("--help", data_dir=tmp_path)
    assert p.returncode == 0
    for word in ("ingest", "search", "ask", "chat", "config", "QA_BOT_LLM_URL", "examples"):
        assert word in p.stdout


def test_config_lists_every_setting_with_its_env_var(tmp_path):
    p = qa("config", data_dir=tmp_path, env={"QA_BOT_K": "7"})
    assert p.returncode == 0
    assert "QA_BOT_LLM_URL" in p.stdout and "QA_BOT_CHROMA_URL" in p.stdout
    assert any(line.startswith("k ") and "= 7" in line for line in p.stdout.splitlines())


def test_a_preset_sets_its_values_and_the_environment_still_wins(tmp_path):
    """`--preset fast` is the small model with fewer evidence items (qa_bot/presets/fast.json); a
    QA_BOT_* variable set beside it wins over the preset's value, and "quality" keeps the 1.5B."""
    def shown(*args: str, env: dict[str, str] | None = None) -> dict[str, str]:
        p = qa(*args, "config", data_dir=tmp_path, env=env)
        assert p.returncode == 0, p.stderr
        return {line.split()[0]: line.split("=", 1)[1].split()[0] for line in p.stdout.splitlines() if " = " in line}

    fast = shown("--preset", "fast")
    assert (fast["llm"], fast["k"], fast["evidence_chars"], fast["evidence_items"]) == ("small", "4", "620", "3")
    assert shown("--preset", "fast", env={"QA_BOT_K": "8"})["k"] == "8"
    quality = shown("--preset", "quality")
    assert quality["llm"] == "default" and int(quality["evidence_chars"]) > int(shown()["evidence_chars"])
    p = qa("--preset", "nope", "config", data_dir=tmp_path)
    assert p.returncode == 2 and "choose from 'fast', 'quality'" in p.stderr


def test_bad_setting_is_one_line(tmp_path):
    assert "QA_BOT_K" in one_line_error(qa("config", data_dir=tmp_path, env={"QA_BOT_K": "many"}))


def test_ask_before_ingest_says_what_to_do(tmp_path):
    assert "qa-bot ingest" in one_line_error(qa("ask", "When?", data_dir=tmp_path))


@pytest.mark.slow  # `qa-bot ingest` in a process of its own: the real embedder
def test_ingest_reports_counts_and_skips_then_search_finds_passages(tmp_path):
    p = qa("ingest", "-q", str(TEST_CORPUS), data_dir=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "5 added" in p.stdout
    assert "skipped" in p.stderr and "picture.md" in p.stderr and "binary" in p.stderr
    p = qa("ingest", "-q", str(TEST_CORPUS), data_dir=tmp_path)
    assert "0 chunks embedded" in p.stdout and "5 unchanged" in p.stdout
    p = qa("search", "--json", "pie contest winner", data_dir=tmp_path)
    hits = json.loads(p.stdout)
    assert hits[0]["article_id"] == "orchard-festival" and "Tomas Brandt" in hits[0]["text"]
    assert qa("ask", "", data_dir=tmp_path).returncode != 0


@pytest.mark.slow  # `qa-bot ingest` in a process of its own: the real embedder
def test_dead_llm_server_is_a_one_line_error(seeded):
    data = seeded
    with closed_port() as port:
        url = f"http://127.0.0.1:{port}/v1"
        err = one_line_error(
            qa("ask", "When could the US raise tariffs?", data_dir=data, env={"QA_BOT_LLM_URL": url})
        )
    assert url in err and "running" in err


@pytest.mark.parametrize("arg", ["--since=yesterday", "-k=0"])
def test_bad_arguments_exit_nonzero(tmp_path, arg):
    p = qa("search", arg, "tariffs", data_dir=tmp_path)
    assert p.returncode != 0 and "Traceback" not in p.stderr


@pytest.mark.slow  # `qa-bot ingest` in a process of its own: the real embedder
def test_global_flags_before_the_subcommand_are_kept(tmp_path):
    """`qa-bot --data-dir X ingest` used to index into the default folder: the subcommand's own copy of
    the flag reset it."""
    elsewhere = tmp_path / "elsewhere"
    p = qa("--data-dir", str(elsewhere), "-q", "ingest", str(TEST_CORPUS), data_dir=tmp_path / "default")
    assert p.returncode == 0, p.stderr
    assert (elsewhere / "chroma").is_dir() and not (tmp_path / "default").exists()
    p = qa("--data-dir", str(elsewhere), "config", data_dir=tmp_path / "default")
    assert any(line.startswith("data_dir ") and str(elsewhere) in line for line in p.stdout.splitlines())


@pytest.mark.slow  # `qa-bot ingest` in a process of its own: the real embedder
@pytest.mark.integration
def test_verbose_ask_says_where_the_time_went_and_what_the_model_read(seeded):
    data = seeded
    p = qa("ask", "--verbose", "When could the US raise tariffs on Chinese goods?", data_dir=data)
    assert p.returncode == 0, p.stderr
    [timings] = [ln for ln in p.stderr.splitlines() if ln.startswith("timings: ")]
    for part in ("startup", "index_open", "embedder_load", "llm_load", "retrieve", "evidence", "ttft", "total", "wall"):
        assert f"{part} " in timings, timings
    assert "shown [1] China Vows to Buy More U.S. Goods" in p.stderr  # the headline the model read
    assert "March 1" in p.stdout


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.org"])
def test_serving_beyond_loopback_without_a_password_is_refused(tmp_path, host):
    p = qa("serve", "--host", host, "--port", "1", data_dir=tmp_path, timeout=60, env={"QA_BOT_API_KEY": "k"})
    assert p.returncode == 2
    assert "QA_BOT_AUTH" in one_line_error(p) and "--no-auth" in p.stderr
    # a password for the web UI does not open the API: it has its own key
    p = qa("serve", "--host", host, "--port", "1", data_dir=tmp_path, timeout=60, env={"QA_BOT_AUTH": "a:b"})
    assert p.returncode == 2
    assert "QA_BOT_API_KEY" in one_line_error(p) and "--no-auth" in p.stderr


def test_a_refused_serve_loads_nothing_heavy_first(tmp_path):
    """The refusal comes before Gradio, Chroma, torch or llama.cpp is imported (~10 s here), so
    a mistyped --host costs the user a second, not a start-up."""
    code = ("import sys\nfrom qa_bot.cli import run\nfrom qa_bot.errors import ConfigError\n"
            "try:\n    run(['serve', '--host', '0.0.0.0', '--port', '1'])\nexcept ConfigError as e:\n    print(e)\n"
            "print(sorted(m for m in ('gradio', 'chromadb', 'torch', 'llama_cpp', 'langchain_core') if m in sys.modules))")
    e = clean_env() | {"QA_BOT_DATA_DIR": str(tmp_path)}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    refusal, loaded = p.stdout.strip().splitlines()
    assert "refusing to serve" in refusal and loaded == "[]", p.stdout


@pytest.mark.slow  # `qa-bot ingest` in a process of its own: the real embedder
def test_library_and_search_start_without_the_model_stack(tmp_path):
    """`qa-bot library` and `search` need Chroma and the embedder, not LangChain or llama.cpp
    (~1 s of imports here): those load with the model."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ferry.txt").write_text("Ferry service to Kelby resumed on Monday after repairs.\n")
    assert qa("-q", "ingest", str(corpus), data_dir=tmp_path / "d").returncode == 0
    code = ("import sys\nfrom qa_bot.cli import run\nrun(['library'])\nrun(['search', 'Kelby ferry'])\n"
            "print(sorted(m for m in ('gradio', 'torch', 'llama_cpp', 'langchain_core', 'qa_bot.llms') if m in sys.modules))")
    e = clean_env() | {"QA_BOT_DATA_DIR": str(tmp_path / "d")}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "Kelby" in p.stdout and p.stdout.strip().splitlines()[-1] == "[]", p.stdout


def test_web_logins_parse_and_loopback_is_recognised(tmp_path):
    from qa_bot.access import check_exposure, credentials, is_loopback
    from qa_bot.config import load_settings
    from qa_bot.errors import ConfigError

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.2", "myhost.lan"))
    f = tmp_path / "logins"
    f.write_text("# team\nann: pass:with:colons\n\nbob:x\n")
    s = load_settings(data_dir=tmp_path, auth_file=f, auth="cy:z", api_key="key")
    assert credentials(s) == [("ann", " pass:with:colons"), ("bob", "x"), ("cy", "z")]
    assert check_exposure(s, "0.0.0.0", no_auth=False) == credentials(s)
    open_local = load_settings(data_dir=tmp_path)
    assert check_exposure(open_local, "127.0.0.1", no_auth=False) is None
    assert check_exposure(open_local, "0.0.0.0", no_auth=True) is None  # explicitly open (with a warning)
    for bad in ("nopassword", ":pw", "user:"):
        with pytest.raises(ConfigError):
            credentials(load_settings(data_dir=tmp_path, auth=bad))


@pytest.mark.parametrize(
    ("env", "toml", "words"),
    [
        ({"QA_BOT_MAX_FILE_MB": "-1"}, None, "max_file_mb"),
        ({"QA_BOT_CHUNK_TOKENS": "0"}, None, "chunk_tokens"),
        ({"QA_BOT_PORT": "70000"}, None, "port"),
        ({"QA_BOT_SUPPORT_THRESHOLD": "1.5"}, None, "support_threshold"),
        ({}, "k = [\n", "not valid TOML"),
        ({}, "k = 0\n", "qa_bot.toml"),
    ],
)
def test_bad_settings_are_one_line_errors(tmp_path, env, toml, words):
    if toml is not None:
        (tmp_path / "qa_bot.toml").write_text(toml)
    e = clean_env({"QA_BOT_CONFIG": "qa_bot.toml"})  # the settings file a user keeps beside the corpus
    p = subprocess.run([sys.executable, "-m", "qa_bot.cli", "config"], capture_output=True, text=True,
                       env={**e, **env}, cwd=tmp_path, timeout=60)
    assert words in one_line_error(p)


def test_a_data_dir_that_cannot_be_used_is_a_one_line_error(tmp_path):
    (tmp_path / "a-file").write_text("x")
    for bad in (tmp_path / "a-file", tmp_path / "a-file" / "below"):
        p = qa("library", data_dir=bad)
        assert str(bad) in one_line_error(p)


def test_a_settings_file_in_the_checkout_never_reaches_the_tests(tmp_path, monkeypatch):
    """A developer's qa_bot.toml (say k = 9) must not change what the suite tests; a user's is read."""
    (tmp_path / "qa_bot.toml").write_text("k = 9\n")
    from qa_bot.config import load_settings

    monkeypatch.chdir(tmp_path)
    assert load_settings().k == 5  # in-process: conftest points QA_BOT_CONFIG at an empty file
    for env, k in ((clean_env(), "5"), (clean_env({"QA_BOT_CONFIG": "qa_bot.toml"}), "9")):
        p = subprocess.run([sys.executable, "-m", "qa_bot.cli", "config"], capture_output=True, text=True,
                           env=env, cwd=tmp_path, timeout=60)
        assert any(line.split()[:3] == ["k", "=", k] for line in p.stdout.splitlines()), p.stdout


@pytest.mark.slow  # two `qa-bot` processes with the real model
@pytest.mark.integration
def test_ask_feedback_rates_the_answer_and_chat_resume_continues_a_kept_conversation(seeded):
    data = seeded
    from qa_bot.config import load_settings
    from qa_bot.journal import Journal

    e = clean_env({"QA_BOT_DATA_DIR": str(data)})
    # `ask --feedback`: the answer, then the questions; a down-vote with the right answer
    p = subprocess.run([sys.executable, "-m", "qa_bot.cli", "ask", "--feedback",
                        "When could the US raise tariffs on Chinese goods?"],
                       input="d\nMarch 1, 2019\nsay the year\n", capture_output=True, text=True, env=e, cwd=ROOT,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    assert "March 1" in p.stdout and "Was this answer right?" in p.stdout and "rated down" in p.stdout
    journal = Journal(load_settings(data_dir=data))
    [rating] = journal.ratings()
    assert (rating.rating, rating.correction, rating.comment, rating.face) == ("down", "March 1, 2019", "say the year", "cli")
    # `feedback ID up`: a changed mind, from the shell, by the id
    p = qa("feedback", rating.answer_id, "up", data_dir=data)
    assert p.returncode == 0 and f"rated answer {rating.answer_id} up" in p.stdout, p.stderr
    listed = qa("feedback", "list", "--rating", "up", data_dir=data)
    assert "When could the US raise tariffs" in listed.stdout and "say the year" in listed.stdout
    assert "1 rating(s)" in listed.stdout
    assert one_line_error(qa("feedback", "0000000000", "up", data_dir=data)).startswith("error: no answer")

    # a conversation kept earlier (as the web UI keeps one), continued from the shell
    first = journal.turn(rating.answer_id)
    cid = journal.start("", first.question)
    journal.record(first.answer, face="web", conversation=cid)
    assert cid in qa("chat", "--list", data_dir=data).stdout
    p = subprocess.run([sys.executable, "-m", "qa_bot.cli", "chat", "--resume", cid], input="On how much in goods?\n",
                       capture_output=True, text=True, env=e, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "continuing" in p.stdout and "200 billion" in p.stdout, p.stdout
    _, turns = journal.conversation(cid)
    assert [t.question for t in turns] == [first.question, "On how much in goods?"]
    assert "200 billion" in turns[1].answer.text and turns[1].answer.citations
    assert one_line_error(qa("chat", "--resume", "nosuchid", data_dir=data)) == "error: no conversation 'nosuchid'"
