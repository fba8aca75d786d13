"""Generate loadtest/sentences.txt: synthetic FAQ-style sentences, English and Chinese.

The text is made up (no data set is redistributed); what matters for load is the length
distribution, which follows the sentence lengths of STS-B (English, ~10 words, long tail
to ~40) and LCQMC / Chinese STS-B (~14 characters, tail to ~50): log-normal draws,
seeded. Usage: python loadtest/make_sentences.py [--n 600] [--seed 7] [--out PATH]
"""

from __future__ import annotations

import argparse
import math
import random
from pathlib import Path

EN_SUBJECTS = [
    "a man",
    "the woman",
    "my account",
    "the new phone",
    "a small dog",
    "the delivery",
    "our team",
    "the refund",
    "this laptop",
    "the bank card",
    "a young girl",
    "the server",
    "the password",
    "two children",
    "the train",
    "my order",
    "the printer",
    "a black cat",
]
EN_VERBS = [
    "is playing",
    "was charged",
    "cannot open",
    "is waiting for",
    "keeps losing",
    "arrived at",
    "is riding",
    "failed to update",
    "is looking at",
    "was moved to",
    "is cooking",
    "reset",
]
EN_OBJECTS = [
    "the guitar",
    "twice this month",
    "the settings page",
    "a bus",
    "the connection",
    "the station",
    "a horse on the beach",
    "after the last update",
    "the menu",
    "a pizza",
    "the second floor",
    "an old photograph",
    "my credit limit",
    "the wrong address",
]
EN_TAILS = [
    "and nobody knows why",
    "in the rain",
    "while the music is playing",
    "again today",
    "before the meeting started",
    "although I paid on time",
    "near the river",
    "during the holiday sale",
    "with a red umbrella",
    "for the third time",
]
EN_QUESTIONS = ["how do I", "why can't I", "what happens if I", "can I", "where should I"]
EN_ACTIONS = [
    "change my password",
    "cancel the order",
    "get a refund",
    "update the app",
    "link a second card",
    "raise my credit limit",
    "track the package",
    "close the account",
]

ZH_QUESTIONS = ["怎么", "为什么不能", "如何", "可以", "在哪里", "什么时候能"]
ZH_ACTIONS = [
    "修改密码",
    "取消订单",
    "申请退款",
    "更新软件",
    "绑定银行卡",
    "提高信用额度",
    "查询物流",
    "注销账户",
    "开发票",
    "更换手机号",
    "还款",
    "领取优惠券",
]
ZH_SUBJECTS = ["我的账户", "这个订单", "花呗", "借呗", "新手机", "快递", "银行卡", "客服", "会员"]
ZH_PREDICATES = [
    "一直显示失败",
    "被冻结了",
    "还没有到账",
    "扣了两次钱",
    "无法登录",
    "额度变低了",
    "提示网络错误",
    "收不到验证码",
    "显示已签收但没收到",
    "自动续费了",
]
ZH_TAILS = ["是什么原因", "怎么办", "能不能帮我看一下", "要多久", "有没有别的办法", "急用"]


def _lognormal_length(rng: random.Random, median: float, sigma: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(median * math.exp(rng.gauss(0.0, sigma)))))


def english(rng: random.Random) -> str:
    """One English sentence of about STS-B's length distribution (words)."""
    target = _lognormal_length(rng, 8.0, 0.45, 3, 36)
    if rng.random() < 0.4:
        words = f"{rng.choice(EN_QUESTIONS)} {rng.choice(EN_ACTIONS)}".split()
    else:
        words = f"{rng.choice(EN_SUBJECTS)} {rng.choice(EN_VERBS)} {rng.choice(EN_OBJECTS)}".split()
    while len(words) < target:
        words += rng.choice(EN_TAILS + EN_OBJECTS).split()
    text = " ".join(words)
    return (
        text[0].upper()
        + text[1:]
        + ("?" if words[0] in {"how", "why", "what", "can", "where"} else ".")
    )


def chinese(rng: random.Random) -> str:
    """One Chinese FAQ-style sentence of about LCQMC's length distribution (characters)."""
    target = _lognormal_length(rng, 10.0, 0.45, 4, 44)
    if rng.random() < 0.5:
        text = rng.choice(ZH_QUESTIONS) + rng.choice(ZH_ACTIONS)
    else:
        text = rng.choice(ZH_SUBJECTS) + rng.choice(ZH_PREDICATES)
    while len(text) < target:
        text += "，" + rng.choice(ZH_SUBJECTS + ZH_PREDICATES + ZH_TAILS)
    return text + ("？" if rng.random() < 0.6 else "。")


def generate(n: int, seed: int) -> list[str]:
    """``n`` distinct sentences, alternating English and Chinese, deterministic in ``seed``."""
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    while len(seen) < n:
        seen.setdefault(english(rng) if len(seen) % 2 == 0 else chinese(rng))
    return list(seen)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("sentences.txt"))
    args = parser.parse_args(argv)
    lines = generate(args.n, args.seed)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} sentences to {args.out}")


if __name__ == "__main__":
    main()
