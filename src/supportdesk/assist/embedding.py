"""Text → unit vector: WordLlama's token embeddings, pooled our way.

A text's vector is the weighted mean of its tokens' rows in WordLlama's matrix, normalised to
length 1, so a dot product is a cosine. The weights damp the tokens every text has (greetings,
"the", punctuation): a token's weight is ``a / (a + p)`` where ``p`` is its frequency in
English support text as estimated by the tokenizer's own merge order (see
:func:`token_weights`). Texts go through :func:`supportdesk.assist.text.clean` first.

Embedding is batched: the tokenizer encodes a batch in Rust (on every core), and pooling is one
``np.add.reduceat`` over the batch's concatenated tokens.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from supportdesk.assist import models
from supportdesk.assist.text import clean

if TYPE_CHECKING:
    import numpy as np

DIMENSIONS = 256
#: Changes whenever pooling or weighting changes: stored vectors of another version are rebuilt.
VERSION = "wl256-sif1"


def token_weights(vocabulary: int, a: float = 3e-3) -> np.ndarray:
    """Smooth-inverse-frequency weights ``a / (a + p(token))``.

    BPE vocabularies are ordered by merge: low ids are the pieces that were most frequent in the
    tokenizer's training text. A Zipf law over that rank stands in for a frequency table we
    would otherwise have to ship or learn from each workspace (which would make vectors depend
    on the workspace and change as it grows)."""
    import numpy as np

    rank = np.arange(vocabulary, dtype=np.float64) + 10.0
    frequency = 1.0 / (rank * np.log(vocabulary + 10.0))
    weights: np.ndarray = (a / (a + frequency)).astype(np.float32)
    return weights


class Embedder:
    """Embeds texts with one loaded token matrix; safe to share between threads."""

    def __init__(self, tokens: models.TokenEmbeddings, weights: np.ndarray | None = None) -> None:
        import numpy as np

        self.tokens = tokens
        vocabulary = tokens.matrix.shape[0]
        self._weights = token_weights(vocabulary) if weights is None else weights.astype(np.float32)
        # weighted once here, so pooling is a gather and a sum
        self._matrix = np.ascontiguousarray(tokens.matrix * self._weights[:, None])
        self._vocabulary = vocabulary
        self._zero = np.zeros(self._matrix.shape[1], dtype=np.float32)

    def embed(self, texts: Sequence[str], *, cleaned: bool = False, batch: int = 2048) -> np.ndarray:
        """Unit vectors, one row per text (a text with no tokens gets a zero row)."""
        import numpy as np

        out = np.zeros((len(texts), self._matrix.shape[1]), dtype=np.float32)
        for start in range(0, len(texts), batch):
            chunk = [t if cleaned else clean(t) for t in texts[start : start + batch]]
            out[start : start + len(chunk)] = self._pool(chunk)
        return out

    def embed_one(self, text: str, *, cleaned: bool = False) -> np.ndarray:
        row: np.ndarray = self.embed([text], cleaned=cleaned)[0]
        return row

    def _pool(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        encodings = self.tokens.tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        matrix, last = self._matrix, self._vocabulary - 1
        result = np.zeros((len(texts), matrix.shape[1]), dtype=np.float32)
        for row, encoding in enumerate(encodings):
            ids = encoding.ids
            if ids:
                # one small gather and sum per text beats a batched reduceat (measured: 8x)
                result[row] = matrix[np.minimum(np.asarray(ids, dtype=np.int64), last)].sum(axis=0)
        norms = np.linalg.norm(result, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        result /= norms
        return result


_embedder: Embedder | None = None
_lock = threading.Lock()


def embedder() -> Embedder:
    """The process's embedder (loads WordLlama's matrix on first call)."""
    global _embedder
    if _embedder is None:
        with _lock:
            if _embedder is None:
                _embedder = Embedder(models.token_embeddings())
    return _embedder
