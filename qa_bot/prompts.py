"""Every prompt the project sends, in one place, with what each rule is for.

The local model is a 1.5B (or 0.5B) coder model: it follows short, concrete rules far better
than long ones, and it copies the format of an example. The code, not the model, guarantees
citations and abstention (generate.py, fidelity.py, policy.py); these prompts only make the
model's draft as easy to check as possible.

Speed: llama.cpp reuses the KV cache of the longest prompt prefix shared with the previous
call, so everything fixed (the system prompt with its example) comes first and never changes;
only the evidence, the date and the question are read anew for each question.
"""

# A token the model emits instead of an answer; the code turns it into ABSTAIN_TEXT.
# A fixed marker is easier for a small model to produce verbatim than a sentence.
NOT_FOUND = "NOT_IN_ARTICLES"
# How the model may also spell it. Barred from "NOT", the 1.5B model wrote "Not_IN_ARTICLES"
# (policy.model_declined reads every case as a decline), so the second look bars the first token
# of each spelling (assistant._second_look, llms.barring): "NOT", "Not", "not" with no space
# before them. " not" (the negation inside a sentence) is another token and stays free.
NOT_FOUND_SPELLINGS = (NOT_FOUND, NOT_FOUND.capitalize(), NOT_FOUND.lower())

ANSWER_SYSTEM = f"""You answer questions about news articles using ONLY the numbered passages given.
Rules:
1. Use only facts written in the passages. Never use outside knowledge.
2. End every sentence with the passage number(s) that support it, like [1] or [2][3].
3. Answer in one or two short sentences. Quote names, dates and numbers exactly as written.
4. Answer the question directly: give the specific names, dates or numbers it asks for. Do not just repeat the question.
5. If the passages do not answer the question, reply with exactly: {NOT_FOUND}"""
# Rule 1: fidelity is the product. Rule 2: the [n] format is what generate.parse_draft reads.
# Rule 3: each generated token costs ~60 ms on CPU, and each sentence is one more thing to support.
# Rule 4: small models otherwise restate the question's premise, which is true, cited and no answer.
# Rule 5: gives the model an exact way out instead of guessing.
# Measured on 10 seed questions (2026-11-29): these rules answered 9; the same rules with a worked
# example appended answered 6 (the 1.5B model copied the example's shape, or declined), and a
# shorter bulleted version 6.

ANSWER_USER = """Passages:
{evidence}

{date_line}Question: {question}
Answer (cite passages like [1]):"""

# Under the question of a second draft after a first one declined as no answer (policy.retry_note):
# the first draft is named as the wrong one and what is wanted said plainly. The system prompt's
# rule 5 still offers the marker; saying it again here made the model give up on answers it had.
RETRY_NOTE = '(Not "{draft}": {fault}. Say {wants}.)'
# {wants}: what the question asks for, by its kind (question.asked_kind); {fault}: why the first
# draft was declined (policy.verdict's reason). A decline of another kind gets no note.
RETRY_WANTS = {"name": "the name", "person": "the name", "place": "the place", "time": "the date or time",
               "quantity": "the number"}
RETRY_WANTS_DEFAULT = "the specific answer"
RETRY_WANTS_SHARE = "the percentage"  # "what percentage / proportion / share" questions
RETRY_FAULTS = {
    "repeats_question": "that only repeats the question",
    "not_an_answer": "that does not give {wants}",
    "out_of_window": "that is older news than the question asks about",
}

# One evidence item as the model sees it: number, headline and date (so "when" questions can
# use the publication date) on one line, the selected sentences on the next. Built by
# types.Evidence.shown(). With "Headline (date): text" on one line instead, the 1.5B model
# ignored answers that sat in the headline (7 of 11 probe questions right, against 9 of 11).
EVIDENCE_TEMPLATE = "[{n}] {shown}"

CONDENSE_SYSTEM = """Rewrite the user's last question so it can be understood without the conversation:
replace words like "they", "it", "that" with what they refer to, and add the topic of the
conversation (for example "in the US-China trade talks") when the question depends on it.
Keep names, dates and numbers. Output only the rewritten question, nothing else.

Example:
Conversation:
User: What did the council decide about the new stadium?
Assistant: It approved the funding [1].
Last question: and who voted against?
Standalone question: Who voted against the council's funding of the new stadium?"""
# Follow-ups like "and who is going to Beijing?" retrieve nothing useful on their own.

CONDENSE_USER = """Conversation:
{history}

Last question: {question}
Standalone question:"""

# The answer check (assistant, after the checker and the answer rules; settings.answer_check): a
# fresh conversation, not a continuation of the one that wrote the answer. Asked inside that
# conversation ("does your answer give ..."), the 1.5B model said yes to nearly everything it had
# written (separating right from wrong answers no better than chance, AUC 0.55 on dev2 tune); as a
# grader of someone else's answer it separates them (AUC 0.69 on each half), and the answers it
# doubted most on tune quoted a headline, a byline or another fact of the story (evals/README.md).
ANSWER_CHECK_SYSTEM = (
    "You grade answers to questions about news. Using only the passages, does the answer give the specific "
    "thing the question asks for (not just restate the question or give a different fact)? "
    "Reply with one word: yes or no."
)
ANSWER_CHECK_USER = """Passages:
{passages}

Question: {question}
Answer: {answer}"""

ABSTAIN_TEXT = "The articles don't say. None of the indexed articles answers this question."

# The independent judge of the eval harness (judge.py; never used to answer). The fixed question
# sits in the system message, so llama.cpp keeps it cached between calls: each judgement reads
# only the passages and the statement (~1 s per call at ~95 prompt tokens/s).
JUDGE_SYSTEM = (
    "You check facts. Do the passages state what the statement says (every name, number, date and claim "
    "in it)? Reply with one word: yes or no."
)
JUDGE_USER = """Passages:
{passages}

Statement: {sentence}"""
