"""The journal: the answers qa-bot gave, the conversations they belong to, and what people said
about them. One SQLite file in the data dir (``journal.sqlite``, opened by store.py: WAL mode,
so the web UI, the API and a CLI command can write at once, and a crash mid-write loses only
that write).

* **Turns.** Every answer a face gives is kept with its id: the question, the day it was asked,
  the checked answer with its citations and quoted spans (``Answer.saved``; never the model's
  draft), the login that asked, and the settings that made it (model, k, evidence budget, index
  recipe). The API's completion id, the web UI's thumbs and ``qa-bot feedback ID`` name a turn.
* **Conversations** are the turns of one chat, owned by one login. Without logins (a loopback
  server, the CLI) everything belongs to the one local user, ``LOCAL_USER``; with logins a user
  lists, reopens, deletes and exports only their own. API answers belong to no conversation
  (the client keeps its own history).
* **Ratings**: one row per answer and login (rating again replaces it: a changed mind), holding
  a copy of the question, answer, citations, abstain reason and settings, so a rating outlives
  the conversation it was given in.
* **Using them**: ``eval_cases`` turns ratings into regression cases for ``qa-bot eval``, and
  ``markdown`` exports a conversation with its citations as footnotes.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .config import Settings
from .conflicts import answer_values
from .errors import InputError, NotFoundError
from .store import connect
from .text import strip_citations, strip_invisible
from .types import Answer

LOCAL_USER = ""  # who asks when nobody signs in: the CLI, and a web UI served without logins
RATINGS = ("up", "down")
MAX_NOTE_CHARS = 4000  # a comment or a correction
_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    login TEXT NOT NULL,
    title TEXT NOT NULL,              -- the first question, shortened
    started REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    id TEXT PRIMARY KEY,
    conversation TEXT,                -- NULL: an API answer
    login TEXT NOT NULL,
    face TEXT NOT NULL,               -- web, api or cli
    asked REAL NOT NULL,
    asked_on TEXT NOT NULL,           -- the day the question was asked (its "today")
    question TEXT NOT NULL,
    answer TEXT NOT NULL,             -- JSON: Answer.saved()
    settings TEXT NOT NULL            -- JSON: the settings fingerprint
);
CREATE INDEX IF NOT EXISTS turns_of_conversation ON turns (conversation, asked);
CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT NOT NULL,
    login TEXT NOT NULL,
    face TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT '',
    correction TEXT NOT NULL DEFAULT '',      -- "the right answer is ..."
    not_in_articles INTEGER NOT NULL DEFAULT 0,  -- "the articles don't say this"
    rated REAL NOT NULL,
    question TEXT NOT NULL,
    asked_on TEXT NOT NULL,
    answer TEXT NOT NULL,             -- as shown, the note included
    note TEXT NOT NULL,               -- the note at its end ("Reports differ: ..."), or ''
    citations TEXT NOT NULL,          -- JSON: [{n, article_id, title, quote, quote_start, quote_end}]
    abstain_reason TEXT NOT NULL,
    settings TEXT NOT NULL,
    UNIQUE (answer_id, login)
);
"""


def _new_id(nbytes: int) -> str:
    return secrets.token_hex(nbytes)


def turn_id(given: str) -> str:
    """An answer id as a face may give it: bare, or the API's ``chatcmpl-<id>``."""
    return given.strip().removeprefix("chatcmpl-")


def _clean(text: object, what: str) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise InputError(f"the {what} must be text")
    text = strip_invisible(text).strip()
    if len(text) > MAX_NOTE_CHARS:
        raise InputError(f"the {what} is {len(text)} characters long; keep it under {MAX_NOTE_CHARS}")
    return text


def parse_rating(value: object) -> str:
    """'up' or 'down' from what a face received (also 👍/👎, like/dislike, +1/-1, true/false)."""
    if isinstance(value, bool):
        return "up" if value else "down"
    text = str(value).strip().lower() if isinstance(value, str | int) else ""
    if text in ("up", "like", "liked", "good", "+1", "1", "👍", "true", "yes"):
        return "up"
    if text in ("down", "dislike", "disliked", "bad", "-1", "👎", "false", "no"):
        return "down"
    raise InputError(f"a rating is up or down, got {str(value)[:20]!r}")


@dataclass(frozen=True)
class Turn:
    """One answer as the journal keeps it."""

    id: str
    conversation: str | None
    login: str
    face: str
    asked: float
    asked_on: dt.date
    question: str
    answer: Answer
    settings: dict[str, Any]

    @classmethod
    def of(cls, row: sqlite3.Row) -> Turn:
        return cls(row["id"], row["conversation"], row["login"], row["face"], row["asked"],
                   dt.date.fromisoformat(row["asked_on"]), row["question"], Answer.from_dict(json.loads(row["answer"])),
                   json.loads(row["settings"]))


@dataclass(frozen=True)
class Conversation:
    id: str
    login: str
    title: str
    started: float
    updated: float
    turns: int

    def label(self) -> str:
        when = dt.datetime.fromtimestamp(self.updated).strftime("%Y-%m-%d %H:%M")
        return f"{when} · {self.title} ({self.turns} turn{'s' if self.turns != 1 else ''})"


@dataclass(frozen=True)
class Rating:
    id: int
    answer_id: str
    login: str
    face: str
    rating: str
    comment: str
    correction: str
    not_in_articles: bool
    rated: float
    question: str
    asked_on: str
    answer: str
    note: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)
    abstain_reason: str = ""
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, row: sqlite3.Row) -> Rating:
        d = dict(row)
        d["not_in_articles"] = bool(d["not_in_articles"])
        d["citations"], d["settings"] = json.loads(d["citations"]), json.loads(d["settings"])
        return cls(**d)

    @property
    def abstained(self) -> bool:
        return bool(self.abstain_reason)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rated_at"] = dt.datetime.fromtimestamp(self.rated, dt.UTC).isoformat(timespec="seconds")
        return d


Fingerprint = Callable[[int | None], dict[str, Any]]  # k used -> the settings that made an answer
Holding = Callable[[str, str, dt.date], list[str]]  # (question, text, asked on) -> ids of articles holding text


class Journal:
    """The journal of one data dir (``assistant.journal``)."""

    def __init__(self, settings: Settings, fingerprint: Fingerprint | None = None) -> None:
        self.settings = settings
        self.path = settings.data_dir / "journal.sqlite"
        self.fingerprint = fingerprint or (lambda k: {"k": k or settings.k})

    @property
    def enabled(self) -> bool:
        return self.settings.journal

    def _db(self):
        return connect(self.path, _SCHEMA)

    def _require(self) -> None:
        if not self.enabled:
            raise InputError("the journal is off (QA_BOT_JOURNAL=false): answers are not kept, so they cannot "
                             "be rated or reopened")

    # ---- turns and conversations -----------------------------------------------------------

    def start(self, login: str = LOCAL_USER, title: str = "") -> str:
        """A new conversation of ``login``; its id."""
        self._require()
        cid, now = _new_id(4), time.time()
        title = " ".join(strip_invisible(title).split())
        title = title if len(title) <= 80 else title[:79].rstrip() + "…"
        with self._db() as con:
            con.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)", (cid, login, title or "(untitled)", now, now))
        return cid

    def record(
        self, answer: Answer, *, face: str, login: str = LOCAL_USER, conversation: str | None = None,
        k: int | None = None, today: dt.date | None = None, answer_id: str | None = None,
    ) -> str | None:
        """Keep ``answer`` (in ``conversation``, which must be ``login``'s); its id, or None when
        the journal is off or cannot be written (the answer is given anyway; a warning goes to
        stderr)."""
        if not self.enabled:
            return None
        aid, now = answer_id or _new_id(5), time.time()
        asked_on = (today or dt.date.today()).isoformat()
        try:
            with self._db() as con:
                con.execute("BEGIN IMMEDIATE")
                if conversation is not None:
                    owner = con.execute("SELECT login FROM conversations WHERE id = ?", (conversation,)).fetchone()
                    if owner is None or owner["login"] != login:
                        con.execute("ROLLBACK")
                        raise NotFoundError(f"no conversation {conversation!r}")
                    con.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation))
                con.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (
                    aid, conversation, login, face, now, asked_on, answer.question,
                    json.dumps(answer.saved(), ensure_ascii=False), json.dumps(self.fingerprint(k))))
                con.execute("COMMIT")
        except sqlite3.Error as e:
            print(f"warning: the answer was not kept in {self.path} ({e}); it cannot be rated", file=sys.stderr)
            return None
        return aid

    def keep(
        self, answer: Answer, *, face: str, login: str = LOCAL_USER, conversation: str | None = None,
        k: int | None = None, today: dt.date | None = None,
    ) -> tuple[str | None, str | None]:
        """Keep one turn of a chat: in ``conversation``, or in a new one titled by the question
        when there is none yet or it was deleted meanwhile (another tab). Returns (the answer's
        id, the conversation's id); (None, None) with the journal off."""
        if not self.enabled:
            return None, None
        for _ in range(2):
            if conversation is None:
                conversation = self.start(login, answer.question)
            try:
                return self.record(answer, face=face, login=login, conversation=conversation, k=k,
                                   today=today), conversation
            except NotFoundError:
                conversation = None
        return None, None

    def turn(self, answer_id: str) -> Turn:
        self._require()
        with self._db() as con:
            row = con.execute("SELECT * FROM turns WHERE id = ?", (turn_id(answer_id),)).fetchone()
        if row is None:
            raise NotFoundError(f"no answer {answer_id!r} is kept (the id is printed with each answer)")
        return Turn.of(row)

    def conversations(self, login: str | None = LOCAL_USER, limit: int = 200) -> list[Conversation]:
        """``login``'s conversations (everyone's for None), most recently used first."""
        if not self.enabled or not self.path.exists():
            return []
        where, args = ("WHERE c.login = ?", (login,)) if login is not None else ("", ())
        with self._db() as con:
            rows = con.execute(
                "SELECT c.*, (SELECT COUNT(*) FROM turns t WHERE t.conversation = c.id) AS turns "
                f"FROM conversations c {where} ORDER BY c.updated DESC LIMIT ?", (*args, limit)).fetchall()
        return [Conversation(**dict(r)) for r in rows]

    def conversation(self, conversation: str, login: str | None = LOCAL_USER) -> tuple[Conversation, list[Turn]]:
        """A conversation of ``login`` (of anyone for None: the CLI's operator) and its turns in
        order; InputError when there is none (another login's is "none" too)."""
        self._require()
        with self._db() as con:
            row = con.execute("SELECT c.*, (SELECT COUNT(*) FROM turns t WHERE t.conversation = c.id) AS turns "
                              "FROM conversations c WHERE c.id = ?", (conversation.strip(),)).fetchone()
            if row is None or (login is not None and row["login"] != login):
                raise NotFoundError(f"no conversation {conversation!r}")
            rows = con.execute("SELECT * FROM turns WHERE conversation = ? ORDER BY asked", (row["id"],)).fetchall()
        return Conversation(**dict(row)), [Turn.of(r) for r in rows]

    def delete(self, conversation: str, login: str | None = LOCAL_USER) -> int:
        """Delete a conversation of ``login`` and its turns; the number of turns deleted. Ratings
        given in it stay (they were sent to whoever runs the server)."""
        c, _ = self.conversation(conversation, login)
        with self._db() as con:
            con.execute("BEGIN IMMEDIATE")
            gone = con.execute("DELETE FROM turns WHERE conversation = ?", (c.id,)).rowcount
            con.execute("DELETE FROM conversations WHERE id = ?", (c.id,))
            con.execute("COMMIT")
        return gone

    # ---- ratings ---------------------------------------------------------------------------

    def rate(
        self, answer_id: str, rating: object, *, comment: object = "", correction: object = "",
        not_in_articles: bool = False, login: str | None = LOCAL_USER, face: str = "cli",
    ) -> Rating:
        """Rate a kept answer (``login``'s own; any for None, the CLI's operator). Rating the same
        answer again replaces the earlier rating; an empty comment or correction keeps the one
        given before."""
        self._require()
        rating = parse_rating(rating)
        comment, correction = _clean(comment, "comment"), _clean(correction, "correction")
        turn = self.turn(answer_id)
        if login is not None and turn.login != login:
            raise NotFoundError(f"no answer {answer_id!r} is kept (the id is printed with each answer)")
        who = turn.login if login is None else login
        saved = turn.answer.saved()
        cited = [{k: c.get(k) for k in ("n", "article_id", "title", "quote", "quote_start", "quote_end")}
                 for c in saved["citations"]]
        with self._db() as con:
            con.execute(
                "INSERT INTO ratings (answer_id, login, face, rating, comment, correction, not_in_articles, rated, "
                "question, asked_on, answer, note, citations, abstain_reason, settings) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (answer_id, login) DO UPDATE SET rating = excluded.rating, face = excluded.face, "
                "comment = CASE WHEN excluded.comment != '' THEN excluded.comment ELSE comment END, "
                "correction = CASE WHEN excluded.correction != '' THEN excluded.correction ELSE correction END, "
                "not_in_articles = excluded.not_in_articles, rated = excluded.rated",
                (turn.id, who, face, rating, comment, correction, int(bool(not_in_articles)), time.time(),
                 turn.answer.standalone_question or turn.question, turn.asked_on.isoformat(), turn.answer.text,
                 turn.answer.note, json.dumps(cited, ensure_ascii=False), turn.answer.abstain_reason, json.dumps(turn.settings)))
            row = con.execute("SELECT * FROM ratings WHERE answer_id = ? AND login = ?", (turn.id, who)).fetchone()
        return Rating.of(row)

    def ratings(
        self, rating: str | None = None, since: dt.date | None = None, until: dt.date | None = None,
        limit: int | None = None,
    ) -> list[Rating]:
        """Ratings, newest first; ``since``/``until`` bound the day they were given."""
        if not self.path.exists():
            return []
        where, args = [], []
        if rating:
            where.append("rating = ?")
            args.append(parse_rating(rating))
        if since:
            where.append("rated >= ?")
            args.append(dt.datetime.combine(since, dt.time()).timestamp())
        if until:
            where.append("rated < ?")
            args.append(dt.datetime.combine(until + dt.timedelta(days=1), dt.time()).timestamp())
        sql = "SELECT * FROM ratings" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY rated DESC, id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._db() as con:
            return [Rating.of(r) for r in con.execute(sql, args)]

    # ---- using them ------------------------------------------------------------------------

    def markdown(self, conversation: str, login: str | None = LOCAL_USER) -> str:
        """The conversation as Markdown: each question and answer, the answer's ``[n]`` as
        footnotes giving the article's title, date, URL and the quoted span."""
        c, turns = self.conversation(conversation, login)
        started = dt.datetime.fromtimestamp(c.started).strftime("%Y-%m-%d %H:%M")
        lines = [f"# {_md(c.title)}", "", f"*qa-bot conversation {c.id}, started {started}*", ""]
        notes: list[str] = []
        for t, turn in enumerate(turns, 1):
            a = turn.answer
            lines += [f"**Question:** {_md(turn.question)}", ""]
            body = " ".join(a.pieces(_md, lambda n, _mark, t=t: f"[^{t}-{n}]"))
            lines += [f"**Answer:** {body}" if not a.abstained else f"**Answer:** *{_md(a.text)}*", ""]
            for cite in a.citations:
                art = cite.passage.article
                quote = cite.passage.chunk.text[slice(*cite.span)] if cite.span else cite.passage.chunk.text
                where = [f"“{_md(art.title or art.id)}”", art.published.isoformat() if art.published else "undated"]
                if cite.passage.chunk.page:
                    where.append(f"p. {cite.passage.chunk.page}")
                if art.url.startswith(("http://", "https://")):
                    where.append(f"<{art.url.replace('>', '%3E').replace(' ', '%20')}>")
                notes.append(f"[^{t}-{cite.n}]: {', '.join(where)}: “{_md(' '.join(quote.split()))}”")
        return "\n".join([*lines, *notes, ""])

    def eval_cases(self, holding: Holding, ratings: Sequence[Rating] | None = None) -> tuple[list[dict], list[str]]:
        """The ratings as ``qa-bot eval`` cases, and why each other rating made none.

        * a down-vote with a correction: answerable, gold the correction, ``doc_ids`` the
          articles found to hold it (``holding``; none found: empty, retrieval goes unscored);
        * a down-vote on an answer marked "the articles don't say this": unanswerable;
        * an up-vote: a regression case for its answer: an answer's gold is what it gives of
          the kind asked (a date, an amount, a name), else its first sentence, its ``doc_ids``
          the articles it cites; an up-voted decline stays a decline (unanswerable).
        """
        cases, skipped = [], []
        for r in reversed(ratings if ratings is not None else self.ratings()):  # oldest first
            case: dict[str, Any] = {"id": f"feedback-{r.id}", "question": r.question, "asked_on": r.asked_on}
            day = dt.date.fromisoformat(r.asked_on)
            if r.rating == "down" and r.correction:
                case.update(answers=[r.correction], doc_ids=holding(r.question, r.correction, day), answerable=True)
            elif r.rating == "down" and r.not_in_articles and not r.abstained:
                case.update(answers=[], doc_ids=[], answerable=False)
            elif r.rating == "up" and r.abstained:
                case.update(answers=[], doc_ids=[], answerable=False)
            elif r.rating == "up":
                body = strip_citations(r.answer[: len(r.answer) - len(r.note)] if r.note else r.answer).strip()
                gold = answer_values(r.question, body) or [body.split(". ")[0].strip().rstrip(".")]
                case.update(answers=gold, doc_ids=list(dict.fromkeys(c["article_id"] for c in r.citations)),
                            answerable=True)
            else:
                skipped.append(f"rating {r.id} ({r.answer_id}): a down-vote with no correction and no "
                               "\"the articles don't say this\" says what is wrong, not what is right")
                continue
            case["source"] = f"{r.rating}-vote {r.answer_id} by {r.login or 'local user'}" + (
                f": {r.comment}" if r.comment else "")
            cases.append(case)
        return cases, skipped


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]()<>!|~"})


def _md(text: str) -> str:
    """Article and user text as literal Markdown: no links, images, HTML or emphasis of its own."""
    return strip_invisible(text).translate(_MD_SPECIAL).replace("\n", " ")
