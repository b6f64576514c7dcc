"""What the browser tests check on every page: real rendering, and WCAG AA text contrast."""

from __future__ import annotations

import io
import time

from PIL import Image, ImageStat


def assert_rendered(png: bytes) -> None:
    """A screenshot with real content: not blank, not one flat colour."""
    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.width > 100 and image.height > 100
    assert ImageStat.Stat(image).stddev[0] > 20


CONTRAST = """
() => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  const worst = [];
  for (const el of document.querySelectorAll("a, button, h1, h2, p, dt, dd, li, label")) {
    if (!el.offsetParent || !el.textContent.trim()) continue;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) worst.push([el.tagName, el.textContent.trim().slice(0, 20), ratio.toFixed(2)]);
  }
  return worst;
}
"""


def until(page, script: str, timeout: float = 10) -> None:
    """Wait until ``script`` is true in the page. Every page forbids eval by its Content-Security-Policy,
    which ``wait_for_function`` needs; ``evaluate`` is not subject to it."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"timed out waiting for {script}"
        page.wait_for_timeout(50)


def watch_csp(context) -> list[str]:
    """The Content-Security-Policy violations of the context's pages, as Chromium reports them on the
    console ("Refused to execute inline script because it violates …"): a test asserts none."""
    violations: list[str] = []

    def seen(message) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    context.on("console", seen)
    return violations
