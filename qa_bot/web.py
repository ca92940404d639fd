"""The web face: a Gradio chat with a sources panel, uploads and a library. No answering logic here.

Everything that comes from articles or uploads (titles, text, file names) is untrusted and is
HTML-escaped here before it reaches the page; answers are rendered by us, not as Markdown, so
an article cannot inject script, images or links.
"""

from __future__ import annotations

import html
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr

from . import trace
from .assistant import Assistant, Final, Retry, Token, history_pairs, parse_date
from .errors import ConfigError, QABotError
from .types import ABSTAIN_REASONS, Answer, DateRange, Passage

UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".jsonl", ".pdf"]

CSS = """
#qa-sources { max-height: 75vh; overflow-y: auto; }
.qa-src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin-bottom: 10px; }
.qa-src:target, .qa-src.qa-focus { outline: 3px solid #f59e0b; }
.qa-src h4 { margin: 0 0 4px 0; font-size: 0.95em; }
.qa-src .qa-meta { color: var(--body-text-color-subdued); font-size: 0.85em; margin-bottom: 4px; }
.qa-src p { white-space: pre-wrap; margin: 0; font-size: 0.92em; }
.qa-src mark { background: #fde68a; color: inherit; }
a.qa-cite { font-weight: 600; text-decoration: none; }
.qa-abstain { font-style: italic; }
.qa-differ { display: block; margin-top: .4em; padding: .2em .5em; border-left: 3px solid #d97706; background: #fffbeb; }
.qa-draft { color: var(--body-text-color-subdued); }
"""

# Clicking [n] in an answer scrolls its passage in the sources panel into view and flashes it.
HEAD = """
<script>
document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a.qa-cite');
  if (!a) return;
  ev.preventDefault();
  const el = document.getElementById((a.getAttribute('href') || '').replace(/^#/, ''));
  if (!el) return;
  document.querySelectorAll('.qa-src.qa-focus').forEach(e => e.classList.remove('qa-focus'));
  el.classList.add('qa-focus');
  el.scrollIntoView({behavior: 'smooth', block: 'center'});
});
</script>
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def answer_html(answer: Answer, turn: int) -> str:
    """The answer with each [n] as a link to its passage in the sources panel."""
    if answer.abstained:
        return f'<span class="qa-abstain">{_esc(answer.text)}</span>'
    pieces = answer.pieces(_esc, lambda n, mark: f'<a class="qa-cite" href="#qa-src-{turn}-{n}">{mark}</a>')
    if answer.conflicts:  # "Reports differ: ...": marked, so a reader sees the articles disagree
        pieces[-1] = f'<span class="qa-differ">{pieces[-1]}</span>'
    return " ".join(pieces)


def _passage_html(p: Passage, label: str, anchor: str, spans: list[tuple[int, int]]) -> str:
    a = p.article
    meta = [a.published.isoformat() if a.published else "undated", f"score {p.score:.2f}"]
    if p.chunk.page:
        meta.insert(1, f"p. {p.chunk.page}")
    if a.author:
        meta.append(_esc(a.author))
    if a.source:
        meta.append(_esc(a.source))
    link = ""
    if a.url.startswith(("http://", "https://")):
        link = f' · <a href="{_esc(a.url)}" target="_blank" rel="noopener noreferrer nofollow">link</a>'
    text = p.chunk.text
    body, pos = [], 0
    for s, e in sorted(set(spans)):
        if s < pos:
            continue
        body.append(_esc(text[pos:s]))
        body.append(f"<mark>{_esc(text[s:e])}</mark>")
        pos = e
    body.append(_esc(text[pos:]))
    return (
        f'<div class="qa-src" id="{anchor}"><h4>{label} {_esc(a.title or a.id)}</h4>'
        f'<div class="qa-meta">{" · ".join(meta)} · {_esc(a.id)}{link}</div><p>{"".join(body)}</p></div>'
    )


def _set_aside_html(answer: Answer) -> str:
    articles = {p.article.id: p.article for p in answer.set_aside}.values()
    return "".join(
        f'<p class="qa-set-aside">⚠ Not shown to the model: <b>{_esc(a.title or a.id)}</b> ({_esc(a.id)}) — '
        f"{_esc(a.suspect)}.</p>"
        for a in articles
    )


def sources_html(answer: Answer | None, turn: int) -> str:
    if answer is None:
        return "<p>Sources of the selected answer appear here.</p>"
    if answer.set_aside:
        return _set_aside_html(answer) + sources_html(replace(answer, set_aside=()), turn)
    if answer.abstained:
        why = ABSTAIN_REASONS.get(answer.abstain_reason, "")
        parts = [f"<p><b>The articles don't cover this question</b>{': ' + _esc(why) if why else ''}.</p>"
                 "<p>Closest passages looked at:</p>"]
        parts += [_passage_html(p, f"({p.rank})", f"qa-near-{turn}-{p.rank}", []) for p in answer.passages[:3]]
        return "".join(parts)
    # the highlighted span is exactly what the model was shown as [n] and what the checker judged
    return "".join(
        _passage_html(c.passage, f"[{c.n}]", f"qa-src-{turn}-{c.n}", [c.span] if c.span else [])
        for c in answer.citations
    )


def _text(content: Any) -> str:
    """A chat message's text, whatever shape Gradio hands it back in (str, dict or list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or content.get("value") or "")
    if isinstance(content, list | tuple):
        return " ".join(_text(c) for c in content)
    return str(getattr(content, "text", "") or "")


LIVE_TABLES_S = 5  # how often an open page re-reads the sources and articles tables
SOURCE_COLUMNS = ["id", "kind", "location", "every", "last fetch", "next fetch", "added", "last error"]


def build_app(assistant: Assistant) -> gr.Blocks:
    settings = assistant.settings
    exports: list[Path] = []  # made on the first export: a private folder of this server's exports

    def library_rows() -> list[list[Any]]:
        return [[a.title, a.published or "", a.chunks, a.id] for a in assistant.library()]

    def examples() -> list[str]:
        titles = [a.title for a in assistant.library()[:3] if a.title]
        return [f"What happened in “{t}”?" for t in titles] or ["What are the articles about?"]

    with gr.Blocks(title="qa-bot") as app:
        answers = gr.State([])  # per browser session: this session's Answers, one per bot turn
        answer_ids = gr.State([])  # the journal's id of each (None: not kept), for the thumbs
        conversation = gr.State(None)  # the journal's id of this chat, once it has an answer
        rated = gr.State(None)  # (answer id, "up"/"down"): the rating the feedback form adds to
        gr.Markdown("## qa-bot — answers from your news articles, with the passages they cite")
        with gr.Tabs():
            with gr.Tab("Chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chat = gr.Chatbot(
                            elem_id="qa-chat", height=520, render_markdown=False, sanitize_html=True,
                            label="Conversation",
                        )
                        with gr.Row():
                            box = gr.Textbox(placeholder="Ask about the articles…", show_label=False, scale=5,
                                             elem_id="qa-question", max_lines=4)
                            send = gr.Button("Ask", variant="primary", scale=1, elem_id="qa-ask")
                        with gr.Group(visible=False, elem_id="qa-feedback") as feedback_box:
                            feedback_said = gr.Markdown(elem_id="qa-feedback-said")
                            with gr.Row():
                                feedback_comment = gr.Textbox(label="Comment (optional)", elem_id="qa-feedback-comment",
                                                              scale=3)
                                feedback_correction = gr.Textbox(label="The right answer is … (optional)",
                                                                 elem_id="qa-feedback-correction", scale=3)
                            with gr.Row():
                                feedback_missing = gr.Checkbox(label="The articles don't say this",
                                                               elem_id="qa-feedback-missing")
                                feedback_send = gr.Button("Send feedback", size="sm", elem_id="qa-feedback-send")
                        feedback_status = gr.Markdown(elem_id="qa-feedback-status")
                        new = gr.Button("New chat", elem_id="qa-new", size="sm")
                        with gr.Accordion("Past conversations", open=False, elem_id="qa-past"):
                            past_list = gr.Dropdown(choices=[], label="Conversation", elem_id="qa-past-list",
                                                    allow_custom_value=False)
                            with gr.Row():
                                past_open = gr.Button("Open", size="sm", elem_id="qa-past-open")
                                past_export = gr.Button("Export as Markdown", size="sm", elem_id="qa-past-export")
                                past_delete = gr.Button("Delete", size="sm", variant="stop", elem_id="qa-past-delete")
                            past_file = gr.File(label="Markdown export", interactive=False, visible=False,
                                                elem_id="qa-past-file")
                            past_status = gr.Markdown(elem_id="qa-past-status")
                        # filled after sign-in (app.load): Gradio writes what a component is built
                        # with into the login page's API description, for anyone to read
                        tries = gr.Examples(examples=[["What are the articles about?"]], inputs=[box],
                                            label="Try asking")
                    with gr.Column(scale=2):
                        gr.Markdown("### Sources")
                        sources = gr.HTML(sources_html(None, 0), elem_id="qa-sources")
                with gr.Accordion("Settings", open=False):
                    k = gr.Slider(1, 10, value=settings.k, step=1, label="Passages per answer")
                    gr.Textbox(assistant.llm_label, label="LLM in use", interactive=False)
                    with gr.Row():
                        since = gr.Textbox(label="Only articles published on/after (YYYY-MM-DD)", elem_id="qa-since")
                        until = gr.Textbox(label="… and on/before (YYYY-MM-DD)", elem_id="qa-until")
            with gr.Tab("Add articles"):
                files = gr.File(file_count="multiple", file_types=UPLOAD_TYPES, label="Upload txt, md, html, jsonl or pdf",
                                elem_id="qa-upload")
                url_box = gr.Textbox(label="…or a web page or RSS/Atom feed URL (fetched into the corpus's web folder)",
                                     placeholder="https://…", elem_id="qa-url")
                paste_title = gr.Textbox(label="…or paste an article: title", elem_id="qa-paste-title")
                paste_text = gr.Textbox(label="text", lines=8, elem_id="qa-paste-text")
                add = gr.Button("Add to library", variant="primary", elem_id="qa-add")
                add_status = gr.Textbox(label="Status", interactive=False, elem_id="qa-add-status")
            with gr.Tab("Library"):
                table = gr.Dataframe(headers=["title", "published", "chunks", "id"], value=None,
                                     interactive=False, elem_id="qa-library")
                with gr.Row():
                    remove_id = gr.Dropdown(choices=[], label="Article to remove", allow_custom_value=False,
                                            elem_id="qa-remove-id")
                    remove = gr.Button("Remove from index", variant="stop")
                remove_status = gr.Textbox(label="Status", interactive=False, elem_id="qa-remove-status")
                gr.Markdown("**Sources that refresh themselves** (feeds, pages, folders; refreshed while "
                            "the server runs, failures back off)")
                sources_table = gr.Dataframe(headers=SOURCE_COLUMNS, value=None, interactive=False,
                                             elem_id="qa-sources-table")
                with gr.Row():
                    source_url = gr.Textbox(label="Feed or page URL, or a folder on the server",
                                            placeholder="https://…/rss.xml", elem_id="qa-source-url")
                    source_every = gr.Dropdown(choices=["10m", "30m", "1h", "6h", "1d"], value="30m",
                                               label="Every", elem_id="qa-source-every")
                    source_keep = gr.Number(label="Keep days (0: all)", value=0, precision=0,
                                            elem_id="qa-source-keep")
                    source_add = gr.Button("Add source", elem_id="qa-source-add")
                with gr.Row():
                    source_id = gr.Dropdown(choices=[], label="Source to remove", elem_id="qa-source-id")
                    source_purge = gr.Checkbox(label="and its articles", elem_id="qa-source-purge")
                    source_remove = gr.Button("Remove source", variant="stop", elem_id="qa-source-remove")
                source_status = gr.Textbox(label="Status", interactive=False, elem_id="qa-source-status")
                # the refresh runs in the background: the tables follow it without a reload
                live = gr.Timer(LIVE_TABLES_S)
                library_seen = gr.State("")  # the index generation the articles table shows

        def user_turn(question: str, history: list):
            if not (question or "").strip():
                return gr.update(), history
            return "", [*history, {"role": "user", "content": _esc(question)}]

        journal = assistant.journal

        def login_of(request: gr.Request | None) -> str:
            return (getattr(request, "username", None) or "") if request is not None else ""

        def past_choices(login: str) -> list[tuple[str, str]]:
            return [(c.label(), c.id) for c in journal.conversations(login)]

        def bot_turn(history: list, past: list[Answer], ids: list, cid: str | None, k_value: float, since_v: str,
                     until_v: str, request: gr.Request):
            same = (gr.update(), gr.update(), gr.update())  # answer ids, conversation, past list: unchanged
            if not history or history[-1]["role"] != "user":
                yield history, past, gr.update(), *same
                return
            question = html.unescape(_text(history[-1]["content"]))
            # the checked answers, not the HTML shown for them
            answers = iter(a.text for a in past)
            pairs = history_pairs((m["role"], html.unescape(_text(m["content"])) if m["role"] == "user"
                                   else next(answers, "")) for m in history[:-1])
            history = [*history, {"role": "assistant", "content": "…"}]
            turn = len(past)
            streamed = ""
            try:
                dates = DateRange(parse_date(since_v, "start date"), parse_date(until_v, "end date"))
                for event in assistant.ask_stream(question, pairs, dates, k=int(k_value)):
                    if isinstance(event, Token):
                        streamed += event.text
                        # greyed until checked: the draft's sentences may still be dropped or re-cited
                        history[-1] = {"role": "assistant", "content": f'<span class="qa-draft">{_esc(streamed)}</span>'}
                        yield history, past, gr.update(), *same
                    elif isinstance(event, Retry):  # the draft was declined: a second look is coming
                        streamed = ""
                        history[-1] = {"role": "assistant", "content": '<span class="qa-draft">looking again…</span>'}
                        yield history, past, gr.update(), *same
                    elif isinstance(event, Final):
                        # kept in the journal, in this chat's conversation: rated by the thumbs, reopened later
                        login = login_of(request)
                        kept, cid = journal.keep(event.answer, face="web", login=login, conversation=cid,
                                                 k=int(k_value))
                        past, ids = [*past, event.answer], [*ids, kept]
                        history[-1] = {"role": "assistant", "content": answer_html(event.answer, turn)}
                        yield (history, past, sources_html(event.answer, turn), ids, cid,
                               gr.update(choices=past_choices(login), value=cid))
            except QABotError as e:
                history[-1] = {"role": "assistant", "content": f"⚠ {_esc(str(e))}"}
                past = [*past, Answer(question, str(e), (), (), True)]
                yield history, past, gr.update(), [*ids, None], cid, gr.update()

        def pick(past: list[Answer], evt: gr.SelectData):
            turn = evt.index if isinstance(evt.index, int) else evt.index[0]
            i = turn // 2
            if 0 <= i < len(past):
                return sources_html(past[i], i)
            return gr.update()

        def thumb(ids: list, evt: gr.LikeData, request: gr.Request):
            """👍/👎 on an answer: kept at once; the form below then adds a comment or the right answer."""
            turn = evt.index if isinstance(evt.index, int) else evt.index[0]
            i = turn // 2
            aid = ids[i] if 0 <= i < len(ids) else None
            if aid is None or not isinstance(evt.liked, bool):
                return gr.update(visible=False), "", None, "This answer cannot be rated (it was not kept)."
            try:
                rating = journal.rate(aid, evt.liked, login=login_of(request), face="web")
            except QABotError as e:
                return gr.update(visible=False), "", None, f"Not kept: {_esc(str(e))}"
            said = (f"You rated answer {i + 1} **{'👍 up' if rating.rating == 'up' else '👎 down'}**. "
                    "Anything to add? (optional)")
            return gr.update(visible=True), said, (aid, rating.rating), "Thanks: your rating is kept."

        def send_feedback(which, comment: str, correction: str, missing: bool, request: gr.Request):
            if not which:
                return gr.update(), "Rate an answer with 👍 or 👎 first.", gr.update(), gr.update(), gr.update()
            try:
                journal.rate(which[0], which[1], comment=comment, correction=correction,
                             not_in_articles=bool(missing), login=login_of(request), face="web")
            except QABotError as e:
                return gr.update(), f"Not kept: {_esc(str(e))}", gr.update(), gr.update(), gr.update()
            return gr.update(visible=False), "Thanks: your feedback is kept.", "", "", False

        def open_past(which: str | None, request: gr.Request):
            """Reopen a kept conversation: its turns, their answers with citations, its sources panel."""
            if not which:
                return (gr.update(),) * 5 + ("Pick a conversation first.",)
            try:
                _, turns = journal.conversation(which, login_of(request))
            except QABotError as e:
                return (gr.update(),) * 5 + (_esc(str(e)),)
            history, past = [], []
            for i, t in enumerate(turns):
                history += [{"role": "user", "content": _esc(t.question)},
                            {"role": "assistant", "content": answer_html(t.answer, i)}]
                past.append(t.answer)
            panel = sources_html(past[-1], len(past) - 1) if past else sources_html(None, 0)
            return history, past, [t.id for t in turns], which, panel, f"Opened: {len(turns)} turn(s)."

        def delete_past(which: str | None, cid: str | None, request: gr.Request):
            login = login_of(request)
            if not which:
                return gr.update(), "Pick a conversation first.", cid
            try:
                gone = journal.delete(which, login)
            except QABotError as e:
                return gr.update(), _esc(str(e)), cid
            return (gr.update(choices=past_choices(login), value=None), f"Deleted ({gone} turn(s)).",
                    None if which == cid else cid)

        def export_past(which: str | None, request: gr.Request):
            if not which:
                return gr.update(visible=False), "Pick a conversation first."
            try:
                text = journal.markdown(which, login_of(request))
            except QABotError as e:
                return gr.update(visible=False), _esc(str(e))
            # one folder for the server's exports, a file per conversation: exporting again replaces it.
            # mkdtemp, not a fixed name in /tmp: another local user could make that name first
            if not exports:
                exports.append(Path(tempfile.mkdtemp(prefix="qa-bot-exports-")))
            path = exports[0] / f"conversation-{which}.md"
            path.write_text(text, encoding="utf-8")
            return gr.update(value=str(path), visible=True), "Exported: download it above."

        def add_articles(uploaded, url: str, title: str, text: str, progress=gr.Progress()):  # noqa: B008
            books = assistant.articles  # library.py: the same adding and removing as the CLI's
            saved: list[tuple[Path, str]] = []  # (our new file, the name the user gave it)
            lines = []
            try:
                if (url or "").strip():
                    progress(0, desc=f"fetching {url.strip()[:80]}")
                    got = books.fetch(url, for_visitor=True)
                    saved += [(path, path.name) for path in got.saved]
                    lines += [f"{where}: not added ({reason})" for where, reason in got.skipped]
                    if got.known:
                        lines.append(f"{len(got.known)} feed item(s) fetched before, not fetched again")
                for f in uploaded or []:
                    src = Path(f if isinstance(f, str) else f.name)
                    given = Path(getattr(f, "orig_name", None) or src.name).name
                    saved.append((books.save_upload(given, src.read_bytes()), given))
                if (text or "").strip():
                    path = books.save_text(title or "", text)
                    saved.append((path, path.name))
            except QABotError as e:
                lines.append(f"not added: {e}")
            if not saved:
                return ("\n".join(lines) or "Choose files, give a URL or paste text first.", gr.update(), gr.update(),
                        gr.update(), gr.update(), gr.update())
            for i, (path, given) in enumerate(saved):
                progress((i, len(saved)), desc=f"indexing {given}")
                added = books.index_new(path, given)
                shown, report = books.shown_name(added), added.report
                if added.error:
                    lines.append(f"{shown}: not added ({added.error})")
                    continue
                for where, reason in report.skipped:
                    line = where.rsplit(":", 1)[1] if where.startswith(str(path) + ":") else ""
                    lines.append(f"{shown}: {'line ' + line + ' ' if line else ''}skipped ({reason})")
                if report.added or report.updated:
                    lines.append(f"{shown}: indexed as {', '.join(report.added + report.updated)} "
                                 f"({report.chunks_embedded} chunks)")
                elif report.unchanged:
                    lines.append(f"{shown}: already indexed")
            rows = library_rows()
            # the upload box is emptied, so the next upload does not send these files again
            return "\n".join(lines), rows, gr.update(choices=[r[3] for r in rows]), None, "", ""

        def remove_article(article_id: str):
            if not article_id:
                return "Pick an article first.", gr.update(), gr.update()
            gone = assistant.remove(article_id)  # and out of its file, when qa-bot wrote that file
            rows = library_rows()
            status = f"Removed {article_id} ({gone.chunks} chunks){gone.note}." if gone.chunks else (
                f"No indexed article has id {article_id!r}.")
            return status, rows, gr.update(choices=[r[3] for r in rows], value=None)

        def source_rows() -> list[list[Any]]:
            return [[s["id"], s["kind"], s["location"], s["every"], s["last_fetch"] or "never", s["next_fetch"] or "",
                     s["articles_added"], s["last_error"]] for s in (src.to_dict() for src in assistant.sources.list())]

        def sources_view(status: str):
            """The status line, the sources table and its dropdown, and the articles table and its
            dropdown (adding or purging a source changes the library too)."""
            rows, articles = source_rows(), library_rows()
            return (status, rows, gr.update(choices=[str(r[0]) for r in rows], value=None),
                    articles, gr.update(choices=[r[3] for r in articles]))

        def add_source(location: str, every: str, keep: float | None):
            try:
                src = assistant.sources.add(location or "", every or "30m", int(keep) if keep else None,
                                            for_visitor=True)
            except QABotError as e:
                return sources_view(f"Not added: {e}")
            return sources_view(f"Added source {src.id}: {src.location}; it is fetched within a minute.")

        def remove_source(which: str, purge: bool):
            if not which:
                return sources_view("Pick a source first.")
            try:
                src, gone = assistant.sources.remove(which, purge=bool(purge))
            except QABotError as e:
                return sources_view(str(e))
            return sources_view(f"Removed source {src.id}" + (f" and {len(gone)} of its articles." if purge else "."))

        def follow(seen: str):
            """Every LIVE_TABLES_S: the sources table as it is now, and the articles table when
            the index changed since this page last showed it (a refresh added or pruned some)."""
            now = assistant.index_generation()
            if now == seen:
                return source_rows(), gr.update(), gr.update(), seen
            rows = library_rows()
            return source_rows(), rows, gr.update(choices=[r[3] for r in rows]), now

        def on_load(request: gr.Request):
            rows = library_rows()
            sources = source_rows()
            return (rows, gr.update(choices=[r[3] for r in rows]), gr.Dataset(samples=[[e] for e in examples()]),
                    sources, gr.update(choices=[str(r[0]) for r in sources]),
                    gr.update(choices=past_choices(login_of(request))))

        ask_inputs = [chat, answers, answer_ids, conversation, k, since, until]
        for trigger in (box.submit, send.click):
            trigger(user_turn, [box, chat], [box, chat], queue=False).then(
                bot_turn, ask_inputs, [chat, answers, sources, answer_ids, conversation, past_list],
                concurrency_id="answer"
            )
        new.click(lambda: ([], [], sources_html(None, 0), [], None, None, gr.update(visible=False)), None,
                  [chat, answers, sources, answer_ids, conversation, rated, feedback_box], queue=False)
        chat.select(pick, [answers], [sources])
        chat.like(thumb, [answer_ids], [feedback_box, feedback_said, rated, feedback_status], queue=False)
        feedback_send.click(send_feedback, [rated, feedback_comment, feedback_correction, feedback_missing],
                            [feedback_box, feedback_status, feedback_comment, feedback_correction, feedback_missing],
                            queue=False)
        past_open.click(open_past, [past_list], [chat, answers, answer_ids, conversation, sources, past_status],
                        queue=False)
        past_delete.click(delete_past, [past_list, conversation], [past_list, past_status, conversation], queue=False)
        past_export.click(export_past, [past_list], [past_file, past_status], queue=False)
        add.click(add_articles, [files, url_box, paste_title, paste_text],
                  [add_status, table, remove_id, files, paste_text, url_box])
        remove.click(remove_article, [remove_id], [remove_status, table, remove_id])
        source_outputs = [source_status, sources_table, source_id, table, remove_id]
        source_add.click(add_source, [source_url, source_every, source_keep], source_outputs)
        source_remove.click(remove_source, [source_id, source_purge], source_outputs)
        live.tick(follow, [library_seen], [sources_table, table, remove_id, library_seen], queue=False,
                  show_progress="hidden")
        app.load(on_load, None, [table, remove_id, tries.dataset, sources_table, source_id, past_list], queue=False)
    return app


def serve(
    assistant: Assistant, host: str, port: int, logins: list[tuple[str, str]] | None, ingest_corpus: bool = True
) -> None:
    """Index the corpus folder, load the model, then serve the web UI and the API on one port.
    ``logins`` come from ``access.check_exposure``, which the caller runs first (a refused start
    should not wait for Gradio to import)."""
    import socket

    settings = assistant.settings
    # bound first: a taken port fails at once, not after the model loads; and port 0 (any free
    # port) is read back and printed before anyone must guess it
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as e:
        listener.close()
        raise ConfigError(f"cannot serve on {host}:{port} ({e.strerror or e}); pick another --port") from None
    port = listener.getsockname()[1]
    trace.enabled()  # traces asked for without the otel extra: say so now, not at the first answer
    if ingest_corpus and settings.corpus_dir.exists():
        print(assistant.ingest(settings.corpus_dir, progress=True).summary(), flush=True)
    assistant.load_llm()  # assemble, verify and load the model before the first visitor waits for it
    if settings.refresh_sources:  # registered feeds, pages and folders, refreshed in the background
        assistant.sources.start_refreshing()
    import uvicorn
    from fastapi import FastAPI

    from .api import router

    blocks = build_app(assistant)
    blocks.queue(default_concurrency_limit=settings.max_concurrent_answers)
    # one process, one model: the OpenAI-compatible API (/v1, its own bearer key) beside the web UI
    root = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    root.include_router(router(assistant, settings.api_key, settings.max_concurrent_answers, settings.api_max_waiting))
    trace.instrument(root)  # with tracing on: a span per request (OpenTelemetry's FastAPI instrumentation)
    root = gr.mount_gradio_app(
        root, blocks, path="", server_name=host, server_port=port, css=CSS, head=HEAD, footer_links=[],
        show_error=False, auth=logins, auth_message="qa-bot: sign in to ask about the articles",
        max_file_size=int(settings.max_file_mb * 1_000_000),
    )
    print(f"qa-bot web UI: http://{host}:{port}  API: http://{host}:{port}/v1 "
          f"({'bearer key required' if settings.api_key else 'no key'})", flush=True)
    uvicorn.Server(uvicorn.Config(root, host=host, port=port, log_level="warning")).run(sockets=[listener])
