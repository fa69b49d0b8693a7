"""The three models, loaded from the installed packages, once per process, never downloaded.

- **Embeddings**: WordLlama's static token embeddings (``l2_supercat``, 256 dimensions, 16 MB in
  its wheel) and the tokenizer beside them. ``WordLlama.load()`` looks for the tokenizer in a
  folder that does not exist and then tries to fetch it, so we give it the installed package's
  own folder as ``cache_dir`` and ``disable_download=True``: a missing file is an error, never a
  request. We keep only the matrix and the tokenizer; pooling is ours (:mod:`.embedding`).
- **Language**: Lingua, restricted to the configured languages (all 75 take ~6 s to load; a
  language's model loads on first use, so only those we ask for are ever read).
- **Sentiment**: VADER's English lexicon (in its package) for English, our own lexicons for the
  other languages (:mod:`.sentiment`).

Each loader runs at most once per process under a lock, so the console's worker, a CLI command
and a server's threads can all ask at once. How long each took is kept for the benchmarks
(:func:`load_times`). Importing this module loads nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import numpy as np
    from tokenizers import Tokenizer

T = TypeVar("T")

#: Variables that keep the Hugging Face libraries from reaching the network if any code path
#: ever asked them to (nothing here does: they are a second lock on the same door).
OFFLINE_VARIABLES = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


class ModelUnavailable(Exception):
    """A model's files are not installed; the message names the package to install."""


@dataclass(frozen=True)
class TokenEmbeddings:
    """WordLlama's token matrix and tokenizer: everything :mod:`.embedding` needs."""

    matrix: np.ndarray  # (vocabulary, 256) float32
    tokenizer: Tokenizer
    name: str


_lock = threading.Lock()
_loaded: dict[str, Any] = {}
_times: dict[str, float] = {}


def _once(key: str, load: Callable[[], T]) -> T:
    found = _loaded.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    with _lock:
        found = _loaded.get(key)
        if found is None:
            started = time.perf_counter()
            found = load()
            _times[key] = time.perf_counter() - started
            _loaded[key] = found
    return found


def load_times() -> dict[str, float]:
    """Seconds each model took to load in this process (for the benchmarks)."""
    return dict(_times)


def _offline() -> None:
    for name, value in OFFLINE_VARIABLES.items():
        os.environ.setdefault(name, value)


def _import_wordllama() -> Any:
    """Import WordLlama without letting it configure the root logger (its inference module calls
    ``logging.basicConfig(level=INFO)`` at import, which would print to the console's terminal)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import wordllama  # type: ignore[import-untyped]
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    return wordllama


def _load_token_embeddings() -> TokenEmbeddings:
    _offline()
    try:
        wordllama = _import_wordllama()
    except ImportError:
        raise ModelUnavailable("the embedding model needs the 'wordllama' package: pip install wordllama") from None
    import numpy as np
    from safetensors import safe_open
    from tokenizers import Tokenizer

    package = Path(wordllama.__file__).parent
    weights = package / "weights" / "l2_supercat_256.safetensors"
    tokenizer_file = package / "tokenizers" / "l2_supercat_tokenizer_config.json"
    for path in (weights, tokenizer_file):
        if not path.is_file():
            raise ModelUnavailable(f"the embedding model's file {path.name} is missing: reinstall wordllama")
    # The same files WordLlama.load(cache_dir=package, disable_download=True) resolves; read
    # directly so nothing in its loader can take the download branch.
    with safe_open(str(weights), framework="np", device="cpu") as handle:
        matrix = np.ascontiguousarray(handle.get_tensor("embedding.weight"), dtype=np.float32)
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return TokenEmbeddings(matrix, tokenizer, "wordllama-l2_supercat-256")


def token_embeddings() -> TokenEmbeddings:
    """WordLlama's token matrix and tokenizer (loaded on first call; ~0.3 s)."""
    return _once("embeddings", _load_token_embeddings)


def language_detector(codes: tuple[str, ...]) -> Any:
    """A Lingua detector for these ISO 639-1 codes (each language's model loads on first use)."""

    def load() -> Any:
        _offline()
        try:
            from lingua import IsoCode639_1, LanguageDetectorBuilder
        except ImportError:
            raise ModelUnavailable(
                "language detection needs the 'lingua-language-detector' package: pip install lingua-language-detector"
            ) from None
        iso = [IsoCode639_1.from_str(code) for code in codes]
        return LanguageDetectorBuilder.from_iso_codes_639_1(*iso).with_preloaded_language_models().build()

    return _once("language:" + ",".join(codes), load)


def vader() -> Any:
    """VADER's English analyser (its lexicon ships in the package)."""

    def load() -> Any:
        _offline()
        try:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]
        except ImportError:
            raise ModelUnavailable(
                "English sentiment needs the 'vaderSentiment' package: pip install vaderSentiment"
            ) from None
        return SentimentIntensityAnalyzer()

    return _once("vader", load)
