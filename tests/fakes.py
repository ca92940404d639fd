"""The fast lane's stand-in for the MiniLM embedder (``make test-fast``): no weights to load.

Only for tests whose subject is not the embedder: parsing, chunking, the index's bookkeeping,
evidence selection, the answer rules, the API's shapes. Every test that measures what the real
model retrieves or embeds runs in the full suite (``make test``) with the real one.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

_PIECE = re.compile(r"\w+|[^\w\s]")


class HashingEmbedder:
    """Deterministic bag-of-words vectors: each lower-cased word (and its first five letters, so
    "tariff" meets "tariffs") hashed into one of 384 dimensions, unit length. Texts that share
    words are close, as with MiniLM, just without its sense of meaning."""

    dim = 384
    max_tokens = 256

    def count_tokens(self, text: str, special: bool = False) -> int:
        """Words and punctuation marks: close to MiniLM's word pieces for plain English news."""
        return len(_PIECE.findall(text)) + (2 if special else 0)

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                for key in {word, word[:5]}:
                    out[row, int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big") % self.dim] += 1
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out
