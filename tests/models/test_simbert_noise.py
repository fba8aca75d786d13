"""The denoising corruption of the generator's training (models/simbert/noise.py)."""

from __future__ import annotations

import random

from models.simbert.noise import NoiseConfig, corrupt, join_units, split_units


def test_units_are_words_and_single_ideographs():
    assert split_units("我的 card 丢了,怎么办") == [
        "我",
        "的",
        "card",
        "丢",
        "了",
        ",",
        "怎",
        "么",
        "办",
    ]
    assert split_units("How do I reset it?") == ["How", "do", "I", "reset", "it?"]


def test_join_puts_spaces_only_between_non_ideograph_units():
    assert join_units(["我", "的", "card", "丢", "了"]) == "我的card丢了"
    assert join_units(["How", "do", "I"]) == "How do I"


def test_corruption_is_seeded_and_never_returns_the_clean_text():
    texts = ["如何修改我的银行卡密码", "How do I reset my password?", "花呗 额度"]
    first = [corrupt(t, NoiseConfig(), random.Random(3)) for t in texts]
    again = [corrupt(t, NoiseConfig(), random.Random(3)) for t in texts]
    assert first == again
    rng = random.Random(0)
    for text in texts:
        for _ in range(200):
            assert corrupt(text, NoiseConfig(), rng) != text


def test_without_noise_one_unit_is_still_dropped():
    quiet = NoiseConfig(drop=0.0, mask=0.0, shuffle_span=0)
    noisy = corrupt("a b c d", quiet, random.Random(0)).split()
    assert len(noisy) == 3 and set(noisy) < {"a", "b", "c", "d"}


def test_each_corruption_does_what_it_says():
    rng = random.Random(1)
    dropped = [
        corrupt("甲乙丙丁戊己庚辛", NoiseConfig(drop=0.5, mask=0, shuffle_span=0), rng)
        for _ in range(50)
    ]
    assert all("[MASK]" not in d and len(d) < 8 for d in dropped)
    assert all(list(d) == sorted(d, key="甲乙丙丁戊己庚辛".index) for d in dropped)  # order kept
    masked = corrupt("甲乙丙丁戊己庚辛", NoiseConfig(drop=0, mask=0.99, shuffle_span=0), rng)
    assert masked.count("[MASK]") >= 7
    moved = [
        corrupt(" ".join("abcdefgh"), NoiseConfig(drop=0, mask=0, shuffle_span=2), rng).split()
        for _ in range(50)
    ]
    for words in moved:
        assert (
            sorted(words) == list("abcdefgh") or len(words) == 7
        )  # a permutation (or one dropped)
        assert all(abs(words.index(w) - "abcdefgh".index(w)) <= 2 for w in words if len(words) == 8)
    assert any(words != list("abcdefgh") for words in moved)


def test_one_unit_sentences_come_back_unchanged():
    assert corrupt("ok", NoiseConfig(), random.Random(0)) == "ok"
    assert corrupt("好", NoiseConfig(), random.Random(0)) == "好"
