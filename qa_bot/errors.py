"""One exception family. Every message says what happened and what to do about it.

The faces (CLI, web UI) print ``str(error)`` on one line; anything that is not a
``QABotError`` is a bug and is allowed to show a traceback.
"""


class QABotError(Exception):
    """Base of every error a user can cause or fix."""


class ConfigError(QABotError):
    """A setting is invalid or contradicts another."""


class InputError(QABotError):
    """A question, file or argument the user gave cannot be used."""


class ModelMissingError(QABotError):
    """A model package is not installed or its weights fail verification."""


class LLMUnavailableError(QABotError):
    """The LLM server cannot be reached or answered with an error."""


class IndexMissingError(QABotError):
    """There is nothing indexed yet to answer from."""


class IndexUnavailableError(QABotError):
    """The index cannot be used now: the data dir is unusable, the Chroma server is gone, or
    another process is writing it."""


class NotFoundError(InputError):
    """An id the user gave (an answer, a conversation) names nothing kept, or nothing of theirs."""
