"""Which links from data (a guide's online_url, a place's video_help) may be links on a page.

Only web links, phone numbers and map locations: a ``javascript:``, ``data:`` or ``vbscript:`` link
in a guide file would run on every page that shows it. Checked when the data is read (the link is
dropped, and the loader says so) and again when a page prints it (``zhiyin.web.pages.link``).
"""

from __future__ import annotations

import re

LINK_SCHEMES = frozenset({"http", "https", "tel", "geo"})
SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
# browsers drop tabs and newlines inside a url ("java\tscript:" is javascript:), so any control
# character makes the link unusable rather than something to clean up
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
LINK_RULE = "only http(s), tel: and geo: links are kept"


def safe_link(url: str | None) -> str | None:
    """``url`` (stripped) if it may be a link: http(s) to a host, tel: or geo:; else None."""
    if not url:
        return None
    url = url.strip()
    scheme = SCHEME.match(url)
    if CONTROL.search(url) or scheme is None or scheme.group(1).lower() not in LINK_SCHEMES:
        return None
    if scheme.group(1).lower() in ("http", "https") and not re.match(r"^https?://[^/?#\s]", url, re.I):
        return None  # "https:evil" or "https:///x": no host, browsers guess
    return url
