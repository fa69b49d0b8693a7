"""The intent model's nearest-examples score, computed with one sort, equals the per-intent one.

:meth:`IntentModel.classify` scores each intent by the mean similarity of its NEAREST closest
examples. It used to take them intent by intent (a mask, a sort and a mean each); it now sorts
once by (intent, similarity) and gathers. The answers must be the same to the last bit, for
intents with no example, fewer examples than NEAREST, and many.
"""

from __future__ import annotations

import numpy as np

from supportdesk.assist.intents import (
    _SOFTMAX_TEMPERATURE,
    MIN_SIMILARITY,
    NEAREST,
    UNKNOWN,
    IntentGuess,
    IntentModel,
)


def reference(model: IntentModel, vector: np.ndarray) -> IntentGuess:
    """The per-intent loop as it was written first."""
    if not model.names or len(model.labels) == 0 or not np.any(vector):
        return IntentGuess(UNKNOWN, 0.0, 0.0)
    similarities = model.vectors @ vector
    scores = np.full(len(model.names), -1.0, dtype=np.float64)
    for label in range(len(model.names)):
        mine = similarities[model.labels == label]
        if len(mine):
            scores[label] = float(np.sort(mine)[-NEAREST:].mean())
    best = int(np.argmax(scores))
    if scores[best] < MIN_SIMILARITY:
        return IntentGuess(UNKNOWN, 0.0, round(float(scores[best]), 4))
    shifted = np.exp((scores - scores[best]) / _SOFTMAX_TEMPERATURE)
    return IntentGuess(model.names[best], round(float(shifted[best] / shifted.sum()), 4), round(float(scores[best]), 4))


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_one_sort_scores_as_the_per_intent_loop() -> None:
    rng = np.random.default_rng(20)
    # intent 2 has no example, 0 has one, 3 has two, the others many; labels not in order
    labels = np.asarray([0, 3, 3, *([1] * 9), *([4] * 5), *([5] * 3)], dtype=np.int32)
    rng.shuffle(labels)
    vectors = unit(rng.standard_normal((len(labels), 16)))
    model = IntentModel(("a", "b", "c", "d", "e", "f"), labels, vectors)
    probes = [*unit(rng.standard_normal((500, 16))), *vectors, vectors[0] + vectors[1], np.zeros(16, np.float32)]
    for probe in probes:
        assert model.classify(probe) == reference(model, probe)


def test_a_model_without_examples_knows_no_intent() -> None:
    model = IntentModel(("a",), np.zeros(0, dtype=np.int32), np.zeros((0, 16), dtype=np.float32))
    assert model.classify(unit(np.ones((1, 16)))[0]) == IntentGuess(UNKNOWN, 0.0, 0.0)
