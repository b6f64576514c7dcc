"""Masking personal data before anything is stored or logged."""

from __future__ import annotations

import re

# 18-digit resident ID (last may be X), 15-digit old IDs; mainland mobiles; landlines with area code.
_ID = re.compile(
    r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])|(?<!\d)(\d{6})(\d{6})(\d{3})(?!\d)"
)
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
    text = _ID.sub(mask_id, text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    if not keep_landlines:
        text = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(2)[-2:]}", text)
    return _NAME_INTRO.sub(lambda m: f"{m.group(1)}{m.group(2)}{'*' * len(m.group(3))}", text)
