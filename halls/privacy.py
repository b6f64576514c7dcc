"""Masking personal data before anything is stored or logged."""

from __future__ import annotations

import re

# 18-digit resident ID (last may be X), 15-digit old IDs, also written in groups ("220102 19900101
# 1234"); mainland mobiles; landlines with area code. Full-width digits are read as digits first.
_ID = re.compile(
    r"(?<![0-9A-Za-z])(\d{6})[ -]?(\d{8})[ -]?(\d{3}[\dXx])(?![0-9A-Za-z])"
    r"|(?<!\d)(\d{6})[ -]?(\d{6})[ -]?(\d{3})(?!\d)"
)
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ＋－　", "0123456789Xx+- ")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-(\d{7,8})(?!\d)")
_NAME_INTRO = re.compile(
    r"(我叫|我是|本人|姓名[:：]?|名字叫|名字是)\s*([\u4e00-\u9fff])([\u4e00-\u9fff]{1,3})"
)


def mask_id(match: re.Match[str]) -> str:
    if match.group(1):
        return match.group(1)[:2] + "*" * 14 + match.group(3)[-2:]
    return match.group(4)[:2] + "*" * 11 + match.group(6)[-2:]


def mask(text: str, keep_landlines: bool = True) -> str:
    """Mask ID-card numbers, mobile numbers and self-introduced names.

    Office landlines (0999-1234567) are public service numbers and stay, unless asked otherwise.
    """
    text = text.translate(_FULL_WIDTH)
    text = _ID.sub(mask_id, text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    if not keep_landlines:
        text = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(2)[-2:]}", text)
    return _NAME_INTRO.sub(lambda m: f"{m.group(1)}{m.group(2)}{'*' * len(m.group(3))}", text)


def mask_echoes(text: str, source: str) -> str:
    """``text`` with the personal data found in ``source`` masked where it is repeated — and nothing
    else touched: an answer composed from a guide keeps the guide's words ("由本人申请") while a
    phone number the citizen typed, if echoed, is masked."""
    typed = source.translate(_FULL_WIDTH)
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
