"""qa-bot: citation-first question answering over a folder of news articles."""

__version__ = "0.1.0"
