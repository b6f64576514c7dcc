"""The Taipei FAQ benchmark: index the answers (never the questions), ask each question.

``shared/data/tpe-faq/faq.xml``: ``<data>`` records with data_id, deptName, news_title (the
question), news_content (the HTML-escaped answer) and keyword. Each answer becomes a document
titled by its department and keywords. A question's expected sources are its own record and any
other record whose answer text is the same (21 answers were published twice, under different
questions): the spec's ``expect`` lists every source that answers the question.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from bs4 import BeautifulSoup

from eval.faq import Question
from knowledge.models import Document, Source


def clean_html(fragment: str) -> str:
    text = BeautifulSoup(html.unescape(fragment or ""), "lxml").get_text("\n")
    lines = [re.sub(r"[ \t\u3000\xa0]+", " ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def read_tpe(path: Path) -> tuple[list[Source], list[Question]]:
    root = ET.parse(path).getroot()
    sources: list[Source] = []
    questions: list[Question] = []
    answers: list[str] = []
    seen: set[str] = set()
    for record in root.iter("data"):

        def field(name: str, record: ET.Element = record) -> str:
            return (record.findtext(name) or "").strip()

        data_id, question, answer = field("data_id"), field("news_title"), clean_html(field("news_content"))
        if not data_id or not question or not answer or data_id in seen:
            continue
        seen.add(data_id)
        answers.append(answer)
        keywords = [k.strip() for k in field("keyword").split(",") if k.strip()]
        title = field("deptName") + (f"：{'、'.join(keywords)}" if keywords else "")
        text = answer + (f"\n關鍵字：{'、'.join(keywords)}" if keywords else "")
        doc = Document(id=data_id, title=title, text=text, category=field("deptName") or None)
        sources.append(Source(id=data_id, kind="document", title=title, path=str(path), document=doc))
        questions.append(
            Question(id=data_id, question=question, expect=[data_id], tags=["tpe", "traditional"])
        )
    ids_by_answer: dict[str, list[str]] = {}
    for answer, question in zip(answers, questions, strict=True):
        ids_by_answer.setdefault(answer, []).append(question.id)
    for answer, question in zip(answers, questions, strict=True):
        question.expect = ids_by_answer[answer]
    return sources, questions
