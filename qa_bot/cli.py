"""The terminal face: parse arguments, call the Assistant, print. No answering logic here."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

# before any model library is imported: never reach for a hub, never phone home
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import time

_STARTED = time.perf_counter()  # for --verbose: how long the imports took before any work began

from . import __version__  # noqa: E402
from .config import Settings, available_presets, describe, load_settings  # noqa: E402
from .errors import InputError, QABotError  # noqa: E402
from .text import invisible_chars  # noqa: E402
from .types import ABSTAIN_REASONS, Answer, DateRange, IngestReport, Passage  # noqa: E402

EXAMPLES = """\
examples:
  qa-bot ingest corpus/                       index a folder (only new/changed files are embedded)
  qa-bot ingest https://example.com/story.html  fetch one news page into corpus/web and index it
  qa-bot ingest --feed https://example.com/rss  fetch a feed's new items into corpus/web and index them
  qa-bot search "tariff deadline"             show the best-matching passages
  qa-bot ask "When could the US raise tariffs on Chinese goods?"
  qa-bot ask --json "Who is going to Beijing?"  machine-readable answer
  qa-bot chat                                 multi-turn conversation in the terminal (kept; --resume ID)
  qa-bot feedback 1a2b3c4d5e down --correction "March 1"   rate an answer by the id printed with it
  qa-bot feedback export --eval > cases.jsonl   ratings as eval cases for `qa-bot eval cases.jsonl`
  qa-bot serve                                web UI on http://127.0.0.1:7860, OpenAI-compatible API on /v1
  qa-bot sources add https://example.com/rss --every 30m   a feed that refreshes itself (see `sources -h`)
  qa-bot config                               every setting, its value and its QA_BOT_* variable

environment: every setting is QA_BOT_<NAME> (see `qa-bot config`), e.g.
  QA_BOT_LLM=small                 use the 0.5B local model (faster, weaker)
  QA_BOT_LLM_URL=http://127.0.0.1:8080/v1  use an OpenAI-compatible server instead of the local model
  QA_BOT_CHROMA_URL=http://127.0.0.1:8000  use a Chroma server instead of local files
"""


# Text from articles, file names and models is untrusted: a title holding "\x1b[2J" would
# clear the user's screen, "\x1b]0;...\x07" retitle the window, U+202E reverse what follows.
# Printed for humans, such characters are shown escaped (\x1b, \u202e), never sent raw.
def _safe(text: object, one_line: bool = True) -> str:
    """``text`` fit for a terminal: control, format (bidi, zero-width, tag), private-use and
    line-separator characters escaped (``text.invisible_chars``); with ``one_line``, newlines
    and tabs too (a file name can hold a newline)."""
    pattern = invisible_chars("" if one_line else "\t\n")
    return pattern.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), str(text))


def _json_escape(ch: str) -> str:
    cp = ord(ch)
    if cp <= 0xFFFF:
        return f"\\u{cp:04x}"
    cp -= 0x10000  # outside the BMP, JSON spells a character as a UTF-16 surrogate pair
    return f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}"


def _json(obj: object) -> str:
    """JSON with non-ASCII kept readable but controls and invisible characters escaped
    (``json.dumps`` escapes only the C0 controls when ``ensure_ascii`` is off)."""
    text = json.dumps(obj, indent=2, ensure_ascii=False)
    return invisible_chars("\t\n").sub(lambda m: _json_escape(m[0]), text)


def _date(value: str) -> dt.date:
    from .assistant import parse_date

    try:
        day = parse_date(value, "the date")
    except InputError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if day is None:
        raise argparse.ArgumentTypeError("give a date like 2019-01-31")
    return day


def _k(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 20:
        raise argparse.ArgumentTypeError(f"{value!r}: use a whole number of passages from 1 to 20")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    # SUPPRESS: a flag given before the subcommand ("qa-bot --data-dir X ask") must survive the
    # subcommand's own copy of it, which would otherwise reset it to its default
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", type=Path, default=argparse.SUPPRESS,
        help="where the index lives (default .qa_bot, env QA_BOT_DATA_DIR)",
    )
    common.add_argument(
        "--preset", choices=available_presets(), default=argparse.SUPPRESS,
        help="named settings: fast (0.5B model: quicker, weaker) or quality (3-4x the evidence: about 2x the "
             "first token, and no more right answers on the dev questions; evals/README.md)",
    )
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bars")

    parser = argparse.ArgumentParser(
        prog="qa-bot",
        description="Ask questions about a folder of news articles; every answer cites the passages it rests on.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"qa-bot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "ingest",
        parents=[common],
        help="index articles from a folder or file",
        description="Add new, re-embed changed and remove deleted articles (txt, md, html, jsonl, pdf), or fetch web pages and feeds. "
        "Safe to interrupt and re-run.",
    )
    p.add_argument(
        "path", nargs="?", help="folder, file or web page URL (default: the corpus dir, QA_BOT_CORPUS_DIR). "
        "A URL is fetched, its main text, title, author and date extracted, and saved as Markdown under --into"
    )
    p.add_argument("--feed", metavar="URL", help="an RSS or Atom feed: fetch every item not fetched before "
                   "(up to QA_BOT_FEED_MAX_ITEMS) into --into and index them")
    p.add_argument("--into", type=Path, metavar="DIR",
                   help="where fetched pages are saved (default: CORPUS_DIR/web); re-ingest, library and "
                   "remove then treat them as files")
    p.add_argument("--no-prune", action="store_true", help="keep indexed articles whose files are gone")

    def retrieval_opts(p: argparse.ArgumentParser) -> None:
        p.add_argument("-k", type=_k, help="number of passages (default 5, QA_BOT_K)")
        p.add_argument("--since", type=_date, help="only articles published on/after this date (YYYY-MM-DD)")
        p.add_argument("--until", type=_date, help="only articles published on/before this date (YYYY-MM-DD)")
        p.add_argument("--today", type=_date, help="the date the question is asked (default: today); "
                       "'this week' / 'recently' questions rank articles from just before it first")

    p = sub.add_parser("search", parents=[common], help="show the passages that best match a query")
    p.add_argument("query")
    retrieval_opts(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser(
        "ask",
        parents=[common],
        help="answer one question with cited passages",
        description="Answer from the indexed articles. Exit code 0 for an answer or an honest "
        "'the articles don't say'; non-zero with a one-line error otherwise.",
    )
    p.add_argument("question")
    retrieval_opts(p)
    p.add_argument("--json", action="store_true", help="print the Answer as JSON (no streaming)")
    p.add_argument("--feedback", action="store_true",
                   help="after the answer, ask whether it was right (up/down, a comment, the right answer) "
                   "and keep the rating (see `qa-bot feedback -h`)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also print where the time went (imports, model loads, retrieve, evidence, first token)"
                   " and what the model was shown")

    p = sub.add_parser(
        "chat", parents=[common], help="multi-turn chat in the terminal (/new resets, /quit exits)",
        description="Ask, then ask follow-ups: each is understood in the light of the earlier turns. "
        "Conversations are kept (the journal, QA_BOT_JOURNAL) and can be continued later, also ones "
        "started in the web UI.",
    )
    retrieval_opts(p)
    p.add_argument("--resume", metavar="ID", help="continue a kept conversation (ids: `qa-bot chat --list`)")
    p.add_argument("--list", action="store_true", help="list the kept conversations, newest first, and exit")

    p = sub.add_parser(
        "feedback", parents=[common], help="rate answers; list ratings; export them as eval cases",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Every answer is kept with an id (printed after it by `qa-bot ask`, the `id` of an API "
        "completion, the thumbs in the web UI). A rating says whether it was right; a down-vote with the right "
        "answer, or marked --not-in-articles, becomes a test case the eval runs.",
        epilog="examples:\n"
        "  qa-bot feedback 1a2b3c4d5e up\n"
        "  qa-bot feedback 1a2b3c4d5e down --correction \"March 1\" --comment \"it said March 2\"\n"
        "  qa-bot feedback 1a2b3c4d5e down --not-in-articles      the articles don't say this\n"
        "  qa-bot feedback list --rating down --since 2026-11-01\n"
        "  qa-bot feedback export --eval > cases.jsonl && qa-bot eval cases.jsonl\n"
        "export --eval: a down-vote with a correction -> an answerable case (gold: the correction, doc_ids: the "
        "articles holding it); a down-vote marked --not-in-articles -> an unanswerable case; an up-vote -> a "
        "regression case for its answer; a bare down-vote -> none (it says what is wrong, not what is right).",
    )
    p.add_argument("what", nargs="+", metavar="ID up|down | list | export",
                   help="an answer id and a rating, or `list`, or `export --eval`")
    p.add_argument("--comment", help="(rating) what was wrong or right")
    p.add_argument("--correction", help="(rating) the right answer")
    p.add_argument("--not-in-articles", action="store_true", help="(rating) the articles don't say this")
    p.add_argument("--rating", choices=("up", "down"), help="(list, export) only these ratings")
    p.add_argument("--since", type=_date, help="(list, export) rated on/after this date")
    p.add_argument("--until", type=_date, help="(list, export) rated on/before this date")
    p.add_argument("--limit", type=int, default=50, help="(list) at most this many, newest first (default 50)")
    p.add_argument("--eval", action="store_true", help="(export) write `qa-bot eval` cases as JSONL to stdout")
    p.add_argument("--json", action="store_true", help="(list) print JSON")

    p = sub.add_parser("library", parents=[common], help="list indexed articles")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("remove", parents=[common], help="remove an article from the index by id")
    p.add_argument("article_id")

    p = sub.add_parser(
        "sources", parents=[common], help="feeds, pages and folders that refresh themselves",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Register a feed, a page or a folder once; `qa-bot serve` refreshes the due ones in the "
        "background, and `qa-bot sources refresh` does one pass (for cron or a systemd timer). A failing "
        "source backs off (its interval doubled per failure in a row, at most a day) and never stops the others.",
        epilog="examples:\n"
        "  qa-bot sources add https://example.org/news/rss.xml --every 30m --keep-days 30\n"
        "  qa-bot sources add corpus/extra --every 10m\n"
        "  qa-bot sources list\n"
        "  qa-bot sources refresh            # the due ones; --all: every source now\n"
        "  qa-bot sources remove 2 --purge   # and its articles\n"
        "  crontab: */10 * * * * cd /srv/news && qa-bot -q sources refresh",
    )
    ssub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = ssub.add_parser("add", parents=[common], help="register a feed or page URL, or a folder")
    s.add_argument("location", help="an http(s) URL (a feed: new items each time; a page: fetched again) or a folder")
    s.add_argument("--every", default="30m", help="how often: 45m, 2h, 1d (default 30m; at least 1m)")
    s.add_argument("--keep-days", type=int, metavar="N",
                   help="remove a URL source's articles older than N days (article date, else fetch date)")
    s = ssub.add_parser("list", parents=[common], help="each source: last fetch, next, articles added, last error")
    s.add_argument("--json", action="store_true")
    s = ssub.add_parser("remove", parents=[common], help="drop a source (by id or location)")
    s.add_argument("source", help="its id (see `sources list`) or location")
    s.add_argument("--purge", action="store_true", help="also remove its articles (a URL source's files too)")
    s = ssub.add_parser("refresh", parents=[common], help="refresh the due sources once, then exit")
    s.add_argument("--all", action="store_true", help="refresh every source now, due or not")

    p = sub.add_parser("serve", parents=[common], help="web UI and OpenAI-compatible API (indexes the corpus dir first)",
                       description="Serve the Gradio web UI at / and an OpenAI-compatible API at /v1 "
                       "(chat/completions with citations, models) from one process and one model. Binds "
                       "127.0.0.1 unless told otherwise; any other address needs a web login "
                       "(QA_BOT_AUTH=user:password) and an API key (QA_BOT_API_KEY), or --no-auth.")
    p.add_argument("--host", help="bind address (default 127.0.0.1, QA_BOT_HOST)")
    p.add_argument("--port", type=int, help="port (default 7860, QA_BOT_PORT)")
    p.add_argument("--corpus", type=Path, help="folder to index on start and to save uploads in (QA_BOT_CORPUS_DIR)")
    p.add_argument("--no-auth", action="store_true",
                   help="serve a non-loopback address without a password or API key (otherwise "
                   "QA_BOT_AUTH=user:password or QA_BOT_AUTH_FILE, and QA_BOT_API_KEY, are required)")

    p = sub.add_parser("eval", parents=[common], help="measure answer fidelity on a JSONL dataset",
                       description="Run every question of DATASET, score retrieval, correctness, citations, "
                       "faithfulness and abstention, and write OUT/results.json, report.md and report.html. "
                       "Interrupted runs resume. Format and metrics: evals/README.md.")
    p.add_argument("dataset", type=Path)
    p.add_argument("--corpus", type=Path, help="ingest this folder into OUT/index and evaluate against it")
    p.add_argument("--out", type=Path, help="output folder (default DATA_DIR/eval/<dataset name>)")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument("-k", type=_k, help="passages per answer")
    p.add_argument("--judge", choices=("local", "server", "lexical"),
                   help="independent fidelity judge, run after all answers: local (the local LLM's yes/no "
                   "probability; default when installed), server (QA_BOT_JUDGE_URL), lexical (the answer side's "
                   "own checker)")
    p.add_argument("--compare", type=Path, metavar="OLD",
                   help="an earlier results.json: print each metric old -> new, where the answers went in each "
                        "(right; wrong or declined with the gold shown or not), then the questions each run got "
                        "right that the other got wrong (and the same for declines), with an exact McNemar p; "
                        "also written to OUT/compare.md")
    p.add_argument("--fail-under", nargs="+", default=[], metavar="METRIC=VALUE",
                   help="exit 1 if a metric is below VALUE (latency metrics: above)")

    sub.add_parser("config", parents=[common], help="print the effective settings and their env variables")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    args.quiet = getattr(args, "quiet", False)
    return load_settings(
        getattr(args, "preset", None),
        data_dir=getattr(args, "data_dir", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        corpus_dir=getattr(args, "corpus", None),
    )


def _ingest_web(assistant, args: argparse.Namespace) -> int:
    """Fetch a page or a feed into a folder of the corpus, then index what was saved."""
    from tqdm import tqdm

    if args.feed and args.path:
        raise InputError("give either a page URL or --feed URL, not both")
    folder = args.into or assistant.articles.web_dir
    bar = tqdm(total=0, unit="page", desc="fetching", disable=args.quiet or not args.feed)

    def item(i: int, n: int, link: str) -> None:
        bar.total = n
        bar.n = i
        bar.refresh()

    got = assistant.articles.fetch(args.feed or args.path, feed=True if args.feed else None, into=folder, on_item=item)
    bar.close()
    print(f"fetched {len(got.saved)} page(s) into {_safe(str(folder))}"
          + (f", {len(got.known)} fetched before" if got.known else ""), file=sys.stderr)
    # one pass over the folder (earlier fetches are unchanged and cost a hash each), not one per page
    report = assistant.ingest(folder, prune=False, progress=not args.quiet) if got.saved else IngestReport()
    report.skipped[:0] = got.skipped
    _print_report(report)
    return 0 if got.saved or got.known or not got.skipped else 1


def _sources(assistant, args: argparse.Namespace) -> int:
    """`qa-bot sources add|list|remove|refresh`."""
    import datetime as dt_

    books = assistant.sources
    if args.action == "add":
        src = books.add(args.location, args.every, args.keep_days)
        print(f"source {src.id}: {_safe(src.location)} ({src.label}, every {args.every}"
              + (f", keeping {src.keep_days} days" if src.keep_days else "") + "); `qa-bot sources refresh` fetches it now")
        return 0
    if args.action == "list":
        rows = books.list()
        if args.json:
            print(_json([r.to_dict() for r in rows]))
            return 0

        def when(t: float | None) -> str:
            return dt_.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M") if t else "never"

        for r in rows:
            d = r.to_dict()
            print(f"{r.id:3}  {r.label:6} every {d['every']:4}  last {when(r.last_try):16}  next {when(r.next_due):16}  "
                  f"{r.articles_added:4} added  {_safe(r.location)}"
                  + (f"\n     last error ({r.failures} in a row): {_safe(r.last_error)}" if r.last_error else ""))
        print(f"{len(rows)} sources")
        return 0
    if args.action == "remove":
        src, purged = books.remove(args.source, purge=args.purge)
        print(f"removed source {src.id} {_safe(src.location)}" + (f" and {len(purged)} of its articles" if args.purge else
                                                               " (its articles stay; --purge removes them)"))
        return 0
    failed = 0
    for done in books.refresh(everything=args.all, on_source=lambda d: print(_safe(d.describe()))):
        failed += bool(done.error)
    return 1 if failed else 0


def _print_report(report: IngestReport) -> None:
    for path, reason in report.skipped:
        print(f"skipped {_safe(path)}: {_safe(reason)}", file=sys.stderr)
    for path, problem in report.warnings:
        print(f"warning {_safe(path)}: {_safe(problem)}", file=sys.stderr)
    print(report.summary())


def _wrap(text: str, indent: str = "    ", width: int = 100) -> str:
    return textwrap.fill(" ".join(text.split()), width=width, initial_indent=indent, subsequent_indent=indent)


def _print_passage(label: str, p: Passage, span: tuple[int, int] | None = None) -> None:
    date = p.article.published.isoformat() if p.article.published else "undated"
    page = f", p. {p.chunk.page}" if p.chunk.page else ""
    print(f"{label} {_safe(p.article.title)} ({date}{page}) — score {p.score:.2f} — {_safe(p.article.id)}")
    text = p.chunk.text[span[0] : span[1]] if span else p.chunk.text
    text = ("… " if span and span[0] else "") + text + (" …" if span and span[1] < len(p.chunk.text) else "")
    print(_wrap(_safe(text, one_line=False)))


def _print_set_aside(answer: Answer) -> None:
    for p in {p.article.id: p for p in answer.set_aside}.values():
        print(f"(not shown to the model: {_safe(p.article.id)} \"{_safe(p.article.title)}\" — {p.article.suspect})")


def _print_sources(answer: Answer) -> None:
    _print_set_aside(answer)
    if answer.abstained:
        if answer.abstain_reason:
            print(f"(why: {ABSTAIN_REASONS[answer.abstain_reason]})")
        if answer.passages:
            print("\nClosest passages looked at:")
            for p in answer.passages[:3]:
                _print_passage(f"  ({p.rank})", p)
        return
    print("\nSources:")
    for c in answer.citations:  # the span the model was shown and the checker judged
        _print_passage(f"[{c.n}]", c.passage, c.span)


def _stream_answer(assistant, question: str, history, args, today=None) -> Answer:
    from .assistant import Final, Retry, Token

    streamed = ""
    final: Answer | None = None
    for event in assistant.ask_stream(question, history, DateRange(args.since, args.until), today, args.k):
        _settle()  # an answer decided without the model (an abstention) can come while it still loads
        if isinstance(event, Token):
            streamed += event.text
            print(_safe(event.text, one_line=False), end="", flush=True)
        elif isinstance(event, Retry):
            print(f"{chr(10) if streamed else ''}(not an answer: {ABSTAIN_REASONS[event.reason]}; "
                  "looking again)", flush=True)
            streamed = ""
        elif isinstance(event, Final):
            final = event.answer
    assert final is not None
    if streamed and " ".join(streamed.split()) != final.text:
        print("\n\nChecked against the sources:" if not final.abstained else "\n")
        print(_safe(final.text, one_line=False))
    elif not streamed:
        print(_safe(final.text, one_line=False))
    else:
        print()
    if final.dropped and not final.abstained:
        print(f"(removed {len(final.dropped)} sentence(s) no passage supports)")
    _print_sources(final)
    return final


def _print_timings(assistant, answer: Answer, started: float) -> None:
    """--verbose: where the time of this command went (stderr), and what the model was shown."""
    origin = _PROCESS_START or _STARTED
    parts = [f"startup {started - origin:.2f}s"]
    parts += [f"{k.removesuffix('_s')} {v:.2f}s" for k, v in {**assistant.load_timings, **answer.timings}.items()]
    parts.append(f"wall {time.perf_counter() - origin:.2f}s")
    print("timings: " + ", ".join(parts), file=sys.stderr)
    for e in answer.evidence:
        print(f"  shown [{e.n}] {_wrap(_safe(e.shown(), one_line=False), indent='', width=200)}", file=sys.stderr)


def _process_start() -> float:
    """perf_counter() value at which this process started (Linux), or 0 when unknown."""
    try:
        ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])
        uptime = float(open("/proc/uptime").read().split()[0])
        return time.perf_counter() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


_PROCESS_START = _process_start()


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = _settings(args)
    if args.command == "config":
        for name, value, desc in describe(settings):
            print(f"{name:24} = {value:32} QA_BOT_{name.upper():24} {desc}")
        return 0
    logins = None
    if args.command == "serve":
        from .access import check_exposure

        logins = check_exposure(settings, settings.host, args.no_auth)  # refuse before the heavy imports

    from .assistant import Assistant

    if args.command == "eval":
        return _eval(args, settings)
    global _ASSISTANT
    assistant = _ASSISTANT = Assistant(settings, progress=not args.quiet)
    if args.command == "ingest":
        if args.feed or (args.path and assistant.articles.is_url(args.path)):
            return _ingest_web(assistant, args)
        if args.into:
            raise InputError("--into is for fetched pages: give a URL or --feed URL")
        path = Path(args.path) if args.path else settings.corpus_dir
        _print_report(assistant.ingest(path, prune=not args.no_prune, progress=not args.quiet))
        return 0
    if args.command == "library":
        rows = assistant.library()
        if args.json:
            print(_json([r.__dict__ for r in rows]))
        else:
            for r in rows:
                print(f"{_safe(r.published or 'undated'):10}  {r.chunks:3} chunks  {_safe(r.id):30}  {_safe(r.title)}")
            print(f"{len(rows)} articles")
        return 0
    if args.command == "sources":
        return _sources(assistant, args)
    if args.command == "feedback":
        return _feedback(assistant, args)
    if args.command == "remove":
        gone = assistant.remove(args.article_id)
        if not gone.chunks:
            raise InputError(f"no indexed article has id {args.article_id!r} (see `qa-bot library`)")
        print(f"removed {_safe(args.article_id)} ({gone.chunks} chunks){_safe(gone.note)}")
        return 0

    if args.command == "search":
        assistant.require_index()
        passages = assistant.search(args.query, k=args.k, dates=DateRange(args.since, args.until), today=args.today)
        if args.json:
            print(
                _json([{"rank": p.rank, **p.to_dict()} for p in passages])
            )
        else:
            for p in passages:
                _print_passage(f"{p.rank}.", p)
                print()
        return 0
    if args.command == "ask":
        from .assistant import validate_question

        started = time.perf_counter()
        validate_question(args.question)
        assistant.require_index()
        assistant.preload_llm()  # the weights load on the other core while the embedder loads and retrieval runs
        if args.json:
            answer = assistant.ask(
                args.question, dates=DateRange(args.since, args.until), today=args.today, k=args.k
            )
            _settle()
            kept = assistant.journal.record(answer, face="cli", k=args.k, today=args.today)
            print(_json({"id": kept, **answer.to_dict()}))
        else:
            answer = _stream_answer(assistant, args.question, (), args, args.today)
            kept = assistant.journal.record(answer, face="cli", k=args.k, today=args.today)
            if kept and not args.feedback:
                print(f"(answer {kept}: rate it with `qa-bot feedback {kept} up` or `down`)", file=sys.stderr)
        if args.verbose:
            _print_timings(assistant, answer, started)
        if args.feedback and kept:
            _ask_for_rating(assistant, kept, answer)
        elif args.feedback:
            print("(the answer was not kept, so it cannot be rated: see QA_BOT_JOURNAL)", file=sys.stderr)
        return 0
    if args.command == "chat":
        return _chat(assistant, args)
    if args.command == "serve":
        from .web import serve

        serve(assistant, settings.host, settings.port, logins)
        return 0
    raise AssertionError(args.command)


def _eval(args, settings: Settings) -> int:
    from . import evaluation as ev
    from .assistant import Assistant

    gates = ev.parse_gates(args.fail_under)
    if ev.is_conflict_set(args.dataset):  # evals/conflicts.jsonl: the "Reports differ" detector, no model
        found = ev.conflict_detection(args.dataset)
        metrics = {"conflict_precision": found["precision"], "conflict_recall": found["recall"]}
        out = args.out or settings.data_dir / "eval" / args.dataset.stem
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps({"metrics": metrics, "cases": found["rows"]}, indent=1))
        print(f"conflict cases           {found['cases']}")
        for name, value in metrics.items():
            print(f"{name:24} {ev.fmt_metric(value)}")
        for row in found["wrong"]:
            print(f"  {_safe(row['id'])}: expected {row['expected']}, found {row['found']}")
        bad = ev.failed_gates(metrics, gates)
        if bad:
            print("below --fail-under: " + ", ".join(bad), file=sys.stderr)
        return 1 if bad else 0
    items = ev.load_dataset(args.dataset)[: args.limit or None]
    out = args.out or settings.data_dir / "eval" / args.dataset.stem
    if args.corpus:
        # the eval's own index, so an eval never pollutes the user's
        settings = settings.model_copy(update={"data_dir": out / "index"})
    assistant = Assistant(settings, progress=not args.quiet)
    if args.corpus:
        report = assistant.ingest(args.corpus, progress=not args.quiet)
        print(f"corpus: {report.summary()}")
    if not args.corpus:
        assistant.require_index()
    from .judge import default_judge, make_judge

    judge = make_judge(args.judge or default_judge(settings), assistant, out)  # a bad choice fails before answering
    records = ev.run(assistant, items, out, k=args.k, progress=not args.quiet)
    per_answer = ev.judge_all(records, judge, progress=not args.quiet)
    meta = {"dataset": str(args.dataset), "date": ev.timestamp(), "llm": assistant.llm_label,
            "judge": assistant.scorer.name, "independent_judge": judge.name,
            "judge_s_per_answer": round(per_answer, 3), "k": args.k or settings.k, "questions": len(records)}
    results = ev.write_results(out, records, meta)
    for name in ev.METRICS + ev.JUDGE_METRICS:
        print(f"{name:24} {ev.fmt_metric(results['metrics'].get(name))}")
    split = ev.disagreements(records)
    print(f"judge: {judge.name}, {per_answer:.2f}s per answered question; disagrees with the checker on "
          f"{len(split)} sentence(s) (listed in report.md)")
    print(f"report: {out / 'report.md'} and {out / 'report.html'}")
    if args.compare:
        try:
            old = json.loads(args.compare.read_text())
            old["metrics"]
        except (OSError, ValueError, KeyError, TypeError):
            raise InputError(f"{args.compare} is not a results.json from `qa-bot eval`") from None
        lines = ev.compare(old, results)
        print("\n".join(lines))
        (out / "compare.md").write_text(f"# {args.compare} -> {out / 'results.json'}\n\n```\n" + "\n".join(lines)
                                        + "\n```\n", encoding="utf-8")
    bad = ev.failed_gates(results["metrics"], gates)
    if bad:
        print(f"error: below the gate: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


def _feedback(assistant, args) -> int:
    """`qa-bot feedback ID up|down`, `feedback list`, `feedback export --eval`."""
    journal = assistant.journal
    what = args.what
    if what[0] == "list" and len(what) == 1:
        rows = journal.ratings(args.rating, args.since, args.until, args.limit)
        if args.json:
            print(_json([r.to_dict() for r in rows]))
            return 0
        for r in rows:
            when = dt.datetime.fromtimestamp(r.rated).strftime("%Y-%m-%d %H:%M")
            extra = "".join(f"\n      {label}: {_safe(v)}" for label, v in (
                ("comment", r.comment), ("right answer", r.correction),
                ("marked", "the articles don't say this" if r.not_in_articles else "")) if v)
            print(f"{r.id:4}  {when}  {r.rating:4}  {r.answer_id}  {_safe(r.login or 'local')}/{r.face}  "
                  f"Q: {_safe(r.question)[:80]}\n      A: {_safe(r.answer)[:160]}{extra}")
        print(f"{len(rows)} rating(s)")
        return 0
    if what[0] == "export" and len(what) == 1:
        if not args.eval:
            raise InputError("say what to export: `qa-bot feedback export --eval > cases.jsonl`")
        rows = journal.ratings(args.rating, args.since, args.until)
        cases, skipped = journal.eval_cases(assistant.holding, rows)
        for case in cases:
            print(json.dumps(case, ensure_ascii=False))
        for why in skipped:
            print(f"skipped {why}", file=sys.stderr)
        print(f"{len(cases)} eval case(s) from {len(rows)} rating(s); run them with `qa-bot eval FILE`", file=sys.stderr)
        return 0
    if len(what) != 2:
        raise InputError("give an answer id and up or down (`qa-bot feedback 1a2b3c4d5e down`), `list`, or "
                         "`export --eval`")
    rated = journal.rate(what[0], what[1], comment=args.comment, correction=args.correction,
                         not_in_articles=args.not_in_articles, login=None, face="cli")
    print(f"rated answer {rated.answer_id} {rated.rating} (rating {rated.id})")
    return 0


def _ask_for_rating(assistant, answer_id: str, answer: Answer) -> None:
    """`qa-bot ask --feedback`: the rating, then (for a down-vote) what was wrong, from stdin."""

    def ask(prompt: str) -> str:
        try:
            return input(prompt).strip()
        except EOFError:
            return ""

    rating = ask("\nWas this answer right? [u]p / [d]own / Enter to skip: ").lower()
    if not rating:
        return
    rating = {"u": "up", "d": "down", "y": "up", "n": "down"}.get(rating[:1], rating)
    correction, missing = "", False
    if rating == "down":
        correction = ask("The right answer (Enter if you don't know): ")
        if not correction and not answer.abstained:
            missing = ask("Do the articles not say this at all? [y/N]: ").lower().startswith("y")
    comment = ask("A comment (Enter to skip): ")
    rated = assistant.journal.rate(answer_id, rating, comment=comment, correction=correction,
                                   not_in_articles=missing, login=None, face="cli")
    print(f"thanks: rated {rated.rating} (rating {rated.id}; `qa-bot feedback list` shows them)")


def _chat(assistant, args) -> int:
    from .errors import InputError

    journal = assistant.journal
    if args.list:
        rows = journal.conversations(login=None)
        for c in rows:
            print(f"{c.id}  {_safe(c.login or 'local'):10}  {_safe(c.label())}")
        print(f"{len(rows)} conversation(s); continue one with `qa-bot chat --resume ID`")
        return 0
    assistant.require_index()
    history: list[tuple[str, str]] = []
    conversation, login = None, ""
    if args.resume:
        c, turns = journal.conversation(args.resume, login=None)  # the operator may continue any
        conversation, login = c.id, c.login
        history = [(t.question, t.answer.text) for t in turns]
        print(f"continuing “{_safe(c.title)}” ({len(turns)} turn(s)):")
        for t in turns[-3:]:
            print(f"  you> {_safe(t.question)}\n  bot> {_safe(t.answer.text)}")
    print(f"qa-bot chat over {len(assistant.library())} articles. /new starts over, /quit or Ctrl-D exits.")
    while True:
        try:
            question = input("\nyou> ").strip()
        except EOFError:
            print()
            return 0
        if question in ("/quit", "/exit"):
            return 0
        if question == "/new":
            history.clear()
            conversation, login = None, ""
            print("(new conversation)")
            continue
        if not question:
            continue
        print("bot> ", end="", flush=True)
        try:
            answer = _stream_answer(assistant, question, history, args, args.today)
        except InputError as e:
            print(f"error: {_safe(e)}")
            continue
        if answer.standalone_question:
            print(f"(understood as: {_safe(answer.standalone_question)})")
        history.append((question, answer.text))
        kept, now = journal.keep(answer, face="cli", login=login, conversation=conversation, k=args.k, today=args.today)
        if now and now != conversation:
            print(f"(conversation {now}: `qa-bot chat --resume {now}` continues it)")
        conversation = now
        if kept:
            print(f"(answer {kept})")


_ASSISTANT = None  # the command's Assistant, so an error message can wait for a model load in progress


def _settle() -> None:
    """llama.cpp points the process's stdout/stderr at /dev/null while it loads weights: a message
    printed meanwhile would vanish, so wait for a background load to finish first."""
    if _ASSISTANT is not None:
        _ASSISTANT.wait_for_loads()


def main(argv: Sequence[str] | None = None) -> None:
    try:
        code = run(argv)
    except QABotError as e:
        _settle()
        print(f"error: {_safe(e)}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        _settle()
        print("\ninterrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
