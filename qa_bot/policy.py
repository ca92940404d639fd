"""Every rule that decides whether qa-bot answers or declines, and the reason it gives.

The pipeline asks this module at four points (assistant.py):

1. before drafting: is any passage close enough to the question to be worth an LLM call?
   (``worth_asking`` -> ``no_relevant_passage``); for a question that names no date, does any
   passage come from the news it asks about? (``misses_the_news`` -> ``not_recent_news``, unless
   an article of those weeks repeats most of the question: ``tells_the_story``, read instead)
2. after drafting: did the model itself say the passages don't answer? (``model_declined``
   -> ``model_not_found``)
3. after checking: do the supported sentences answer the question? (``verdict``): nothing
   supported -> ``unsupported``, or ``out_of_window`` when what was supported came only from
   articles well before the week a "this week" question asks about (``older_news_items``); only the
   question's own premise repeated -> ``repeats_question``; no quantity, time or name of the
   kind asked for -> ``not_an_answer``.
4. for a second look after a decline: what note goes under the question (``retry_note``)?
   Which declines get a second look at all is the assistant's call.

Reasons and their wording live in ``types.ABSTAIN_REASONS``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from . import prompts
from .config import Settings
from .question import analyse, new_names, new_words
from .text import content_words, name_present, names, numbers, strip_citations, words_of
from .types import AnswerSentence, Article, DateRange, Evidence, Passage

# ---- 1. worth asking the model? -------------------------------------------------------------


def question_coverage(question: str, passages: Sequence[Passage]) -> tuple[float, float]:
    """(best share of the question's content words in one passage, best share of its names in one passage)."""
    words, nms = content_words(question), names(question)
    best_words = best_names = 0.0
    for p in passages:
        text = f"{p.article.title}\n{p.chunk.text}"
        if words:
            best_words = max(best_words, len(words & content_words(text)) / len(words))
        if nms:
            vocab = words_of([text])
            best_names = max(best_names, sum(name_present(n, vocab) for n in nms) / len(nms))
    return best_words, best_names


def worth_asking(question: str, passages: Sequence[Passage], settings: Settings) -> bool:
    """Is any passage close enough to the question to be worth an LLM call?

    Cosine similarity alone misjudges questions about one detail of a long passage ("Which think
    tank does Derek Scissors work for?" scores 0.18 against the passage that names him), so a
    passage that contains most of the question's words, or every name in it, also counts.
    """
    if not passages:
        return False
    if max(p.score for p in passages) >= settings.min_relevance:
        return True
    words_cov, names_cov = question_coverage(question, passages)
    return words_cov >= settings.min_question_coverage or names_cov == 1.0


def misses_the_news(
    passages: Sequence[Passage], news: DateRange | None, holds_dates: Callable[[DateRange], bool]
) -> bool:
    """Were all the passages found for a news question published before the news it asks about,
    in a collection that has followed that news?

    ``news`` is ``question.news_window``: the weeks before the day a question that names no date
    is asked. A question about a story of those weeks shares its words with older stories of the
    same kind (another year's recall, an earlier storm), and an answer drawn from them is a true
    fact about another story, which no support check can catch. An undated passage may be recent
    news, so it never counts as older. ``holds_dates`` (``index.holds_dates``) tells whether the
    collection has an article in a range: it must have one in each third of ``news``, so a folder
    of 2019 articles asked about today, or with one page added this morning, is answered from 2019.
    """
    if news is None or not passages:
        return False
    older = all(p.article.published is not None and not news.contains(p.article.published) for p in passages)
    return older and all(map(holds_dates, news.thirds()))


def tells_the_story(question: str, passages: Sequence[Passage], settings: Settings) -> bool:
    """Does one of ``passages`` (a news question's own weeks, after ``misses_the_news``) hold at
    least ``min_question_coverage`` of the question's content words?

    The look within the news weeks: when every passage found was older news, the question is
    asked again over the articles of those weeks. Closeness of meaning says little there: the
    collection's closest matches were already another story, and any article of the same weeks
    on the same subject is close too. An article that repeats most of the question's own words
    is the story asked about.
    """
    return bool(passages) and question_coverage(question, passages)[0] >= settings.min_question_coverage


# ---- 2. did the model decline? ----------------------------------------------------------------

_DECLINE = re.compile(
    r"^(i'm sorry|sorry|i cannot|i can't|the (provided )?(passages?|articles?|evidence) (do|does) not|"
    r"(there is|there's) no (information|mention)|no information|not (mentioned|stated|specified))"
)


def model_declined(raw: str) -> bool:
    """The model's own "the passages don't say" (the marker, or a paraphrase small models favour)."""
    t = raw.strip().lower()
    return not t or prompts.NOT_FOUND.lower() in t.replace(" ", "_") or bool(_DECLINE.match(t))


# ---- 3. does the checked answer answer the question? -------------------------------------------

def adds_to_question(answer: str, question: str) -> bool:
    """Does ``answer`` say something the question does not already say?

    A small model often answers by repeating the question's premise ("After the council approved
    the budget, which firm won the contract?" -> "The council approved the budget [2]"), which is
    supported, cited and no answer. An answer adds a name or number the question lacks, or a
    content word beyond the question's own and a few vague ones ("large", "officials").
    """
    answer = strip_citations(answer)
    if numbers(answer) - numbers(question) or new_names(answer, question):
        return True
    return bool(new_words(answer, question))


def is_older_news(article: Article, window: DateRange | None) -> bool:
    """Was ``article`` published well before ``window``, the dates a "this week" question is about?

    "Well before" is more than the window's own length before it starts (three weeks back for
    "this week", six months for "recently"): a report written days after the event still counts.
    Undated articles are never older news.
    """
    if window is None or window.start is None or article.published is None:
        return False
    span = (window.end or window.start) - window.start
    return article.published < window.start - span


def older_news_items(evidence: Sequence[Evidence], passages: Sequence[Passage], window: DateRange | None) -> frozenset[int]:
    """Evidence numbers of older-news articles (``is_older_news``), when a retrieved article is from the window.

    News questions about "this week" recur every week ("Which film tops the box office?",
    "Who resigned?"), so an older article on the same topic states a true fact about the wrong
    week, which no support check can catch. When nothing retrieved is from the window, the
    user's "this week" means the collection's own time and nothing is older news.
    """
    if window is None or not any(window.contains(p.article.published) for p in passages):
        return frozenset()
    return frozenset(e.n for e in evidence if is_older_news(e.passage.article, window))


def verdict(question: str, kept: Sequence[AnswerSentence], dropped: Sequence[AnswerSentence] = ()) -> str:
    """"" when the supported sentences answer ``question``, else the abstention reason.

    ``dropped``: when nothing is kept and the checker dropped a sentence because only older-news
    evidence items supported it (``older_news_items``), the reason says so.
    """
    if not kept:
        return "out_of_window" if any(s.older_news for s in dropped) else "unsupported"
    text = " ".join(s.text for s in kept)
    if not adds_to_question(text, question):
        return "repeats_question"
    if not analyse(question).gives(text):
        return "not_an_answer"
    return ""


# ---- 4. what to tell the model when it looks again ---------------------------------------------

def retry_note(why: str, question: str, draft: str) -> str:
    """The note put under the question for a second draft after a decline of kind ``why``, or ""
    when the decline says nothing the model could act on (it found nothing, or nothing was
    supported: more evidence is the only help there).

    Told only "answer with the name", the 1.5B model wrote the same echo again; told to reply
    with the marker if unsure, it gave up on answers it had. Naming its first draft as the wrong
    one worked best (evals/README.md, "the second look's note").
    """
    if why not in prompts.RETRY_FAULTS:
        return ""
    asked = analyse(question)
    wants = prompts.RETRY_WANTS_SHARE if asked.share else prompts.RETRY_WANTS.get(asked.kind or "", prompts.RETRY_WANTS_DEFAULT)
    quoted = " ".join(strip_citations(draft).split())
    if len(quoted) > 200:
        quoted = quoted[:200].rsplit(" ", 1)[0] + " ..."
    quoted = quoted.rstrip(".")
    return prompts.RETRY_NOTE.format(draft=quoted, fault=prompts.RETRY_FAULTS[why].format(wants=wants), wants=wants)
