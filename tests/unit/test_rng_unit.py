"""Random streams keyed by what they describe: same key, same numbers, whatever the order."""

from __future__ import annotations

import numpy as np
import pytest

from funnelsim.rng import Streams


def draws(streams: Streams, *key: str, n: int = 8) -> np.ndarray:
    return streams.generator(*key).random(n)


def test_same_seed_and_key_give_the_same_numbers() -> None:
    a = draws(Streams(7), "lead", "web_form", "fit")
    b = draws(Streams(7), "lead", "web_form", "fit")
    np.testing.assert_array_equal(a, b)
    # asking twice from one Streams starts the stream afresh each time
    s = Streams(7)
    np.testing.assert_array_equal(draws(s, "lead", "web_form", "fit"), draws(s, "lead", "web_form", "fit"))


@pytest.mark.parametrize("other", [
    ("lead", "web_form", "interest"),
    ("lead", "paid_search", "fit"),
    ("lead", "web_form"),
    ("lead", "web_form", "fit", "0"),
    ("lead", "web_formfit"),  # keys are joined with a separator, so parts cannot run together
    ("leadweb_form", "fit"),
])
def test_different_keys_give_different_numbers(other: tuple[str, ...]) -> None:
    s = Streams(7)
    a = draws(s, "lead", "web_form", "fit")
    b = draws(s, *other)
    assert not np.any(a == b)


def test_different_seeds_give_different_numbers() -> None:
    a = draws(Streams(1), "lead", "web_form", "fit")
    b = draws(Streams(2), "lead", "web_form", "fit")
    assert not np.any(a == b)


def test_streams_do_not_depend_on_request_order() -> None:
    keys = [("lead", src, q) for src in ("web_form", "webinar") for q in ("fit", "interest", "answer")]
    forward = Streams(11)
    first = {k: forward.generator(*k).random(5) for k in keys}
    backward = Streams(11)
    # reverse order, with extra draws on unrelated streams in between
    second = {}
    for k in reversed(keys):
        backward.generator("noise", *k).random(1000)
        second[k] = backward.generator(*k).random(5)
    for k in keys:
        np.testing.assert_array_equal(first[k], second[k])


def test_streams_are_independent_generators() -> None:
    s = Streams(3)
    g1, g2 = s.generator("a"), s.generator("a")
    g1.random(100)  # advancing one does not advance the other
    np.testing.assert_array_equal(g2.random(4), s.generator("a").random(4))


def test_streams_look_uniform_and_uncorrelated() -> None:
    s = Streams(5)
    n = 20_000
    a, b = s.generator("x").random(n), s.generator("y").random(n)
    # mean of U(0,1): sd 1/sqrt(12 n); correlation of independent streams: sd 1/sqrt(n); 4-sigma bounds
    assert abs(a.mean() - 0.5) < 4 / np.sqrt(12 * n)
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / np.sqrt(n)


def test_numpy_integer_seed_is_the_same_seed() -> None:
    np.testing.assert_array_equal(draws(Streams(np.int64(9)), "k"), draws(Streams(9), "k"))


@pytest.mark.parametrize("seed", [-1, True, 1.5, "3", None])
def test_bad_seed_is_rejected(seed: object) -> None:
    with pytest.raises(ValueError, match="seed"):
        Streams(seed)  # type: ignore[arg-type]
