"""Masking personal data before anything is stored or logged."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# 18-digit resident ID (last may be X), 15-digit old IDs, also written in groups ("220102 19900101
# 1234"); mainland mobiles, with or without +86/0086; landlines with area code. The patterns see
# folded text (``fold_digits``): ASCII digits, one kind of space, one kind of dash.
_SEP = r"[ -]{0,2}"
_ID = re.compile(
    rf"(?<![0-9])([0-9]{{6}}){_SEP}([0-9]{{8}}){_SEP}([0-9]{{3}}[0-9Xx])(?![0-9])"
    rf"|(?<![0-9])([0-9]{{6}}){_SEP}([0-9]{{6}}){_SEP}([0-9]{{3}})(?![0-9])"
)
_MOBILE = re.compile(
    rf"(?<![0-9])(?:(?:\+|00)?86{_SEP})?(1[3-9][0-9]){_SEP}([0-9]{{4}}){_SEP}([0-9]{{4}})(?![0-9])"
)
_LANDLINE = re.compile(r"(?<![0-9])(0[0-9]{2,3})-([0-9]{7,8})(?![0-9])")
_NAME_INTRO = re.compile(
    r"(我叫|我是|本人|姓名[:：]?|名字叫|名字是)\s*([\u4e00-\u9fff])([\u4e00-\u9fff]{1,3})"
)


_DIGIT_DASHES = "‐‑‒–－﹣"  # dashes typed between digit groups (not the Chinese dash ——)


@lru_cache(maxsize=512)
def _fold_char(char: str) -> str:
    digit = unicodedata.decimal(char, None)
    if digit is not None:  # full-width １, Arabic-Indic ١, Devanagari १ …: all digits to a person
        return str(digit)
    category = unicodedata.category(char)
    if category == "Zs":  # ideographic space, no-break space … (line breaks stay)
        return " "
    if char in _DIGIT_DASHES:
        return "-"
    return unicodedata.normalize("NFKC", char) if category in ("Lu", "Ll", "Sm") else char  # Ｘ, ＋


def fold_digits(text: str) -> str:
    """``text`` with every digit in ASCII, every space a plain space and every dash between digits a
    hyphen-minus (full-width letters and plus signs too): what a phone or an ID number is found in."""
    if text.isascii():
        return text
    return "".join(_fold_char(c) if not c.isascii() else c for c in text)


def mask_id(match: re.Match[str]) -> str:
    if match.group(1):
        return match.group(1)[:2] + "*" * 14 + match.group(3)[-2:]
    return match.group(4)[:2] + "*" * 11 + match.group(6)[-2:]


def mask(text: str, keep_landlines: bool = True) -> str:
    """Mask ID-card numbers, mobile numbers and self-introduced names.

    Office landlines (0999-1234567) are public service numbers and stay, unless asked otherwise.
    """
    text = fold_digits(text)
    text = _ID.sub(mask_id, text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    if not keep_landlines:
        text = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(2)[-2:]}", text)
    return _NAME_INTRO.sub(lambda m: f"{m.group(1)}{m.group(2)}{'*' * len(m.group(3))}", text)


def mask_echoes(text: str, source: str) -> str:
    """``text`` with the personal data found in ``source`` masked where it is repeated — and nothing
    else touched: an answer composed from a guide keeps the guide's words ("由本人申请") while a
    phone number the citizen typed, if echoed, is masked."""
    typed = fold_digits(source)
    masked = {m.group(0): mask(m.group(0)) for pattern in (_ID, _MOBILE) for m in pattern.finditer(typed)}
    for m in _NAME_INTRO.finditer(typed):
        masked[m.group(2) + m.group(3)] = m.group(2) + "*" * len(m.group(3))
    for value in sorted(masked, key=len, reverse=True):
        text = text.replace(value, masked[value])
    return text


def mask_name(name: str) -> str:
    """A name as staff views show it: 张三 → 张*, 张三丰 → 张*丰, 欧阳娜娜 → 欧**娜."""
    name = " ".join(name.split())
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """138****5678: the network prefix and the last four digits, as printed on receipts."""
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) == 13 and digits.startswith("86"):  # +86 country code
        digits = digits[2:]
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
