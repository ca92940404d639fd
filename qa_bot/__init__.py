"""qa-bot: citation-first question answering over a folder of news articles.

The map of the package (each module's job, the one-way flow of imports, where each rule of the
answering pipeline lives, measured facts about the models) is docs/architecture.md; keep it
true when the code changes.
"""

__version__ = "0.1.0"
