"""Search over HTTP: ``/api/search`` (ranked sources), the plain search page at ``/``, ``/healthz``
(the process is up) and ``/readyz`` (it can answer: database, Chroma, knowledge base)."""

from __future__ import annotations

import html

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse

from knowledge import EmbeddingModelError, Hit, KnowledgeBase, KnowledgeBaseError
from zhiyin import __version__
from zhiyin.usecases import readiness
from zhiyin.web.deps import ServicesDep

router = APIRouter()


def _kb_or_503(root: ServicesDep, name: str | None) -> KnowledgeBase:
    try:
        return root.knowledge_base(name)
    except EmbeddingModelError as exc:
        raise HTTPException(503, str(exc)) from exc


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
def readyz(root: ServicesDep) -> JSONResponse:
    """200 when every part answers, else 503 naming the failing ones."""
    found = readiness(root)
    body = {"ready": found.ready, "failing": found.failing, **found.parts}
    return JSONResponse(body, status_code=200 if found.ready else 503)


@router.get("/api/search", response_model=list[Hit])
def api_search(
    root: ServicesDep,
    q: str = Query(..., min_length=1, max_length=500, description="The question"),
    kb: str | None = Query(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$"),
    k: int = Query(5, ge=1, le=50),
) -> list[Hit]:
    try:
        return _kb_or_503(root, kb).search(q, k=k)
    except KnowledgeBaseError as exc:
        raise HTTPException(404, str(exc)) from exc


SWAGGER_UI = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5"


@router.get("/docs", include_in_schema=False, response_class=HTMLResponse)
def api_docs() -> str:
    """Swagger UI, set up by /static/docs.js (FastAPI's own page has an inline script)."""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>智引 Zhiyin API</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="stylesheet" href="{SWAGGER_UI}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="{SWAGGER_UI}/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script></body></html>"""


@router.get("/", response_class=HTMLResponse)
def search_page(root: ServicesDep, q: str = Query("", max_length=500)) -> str:
    rows = ""
    if q.strip():
        try:
            hits = _kb_or_503(root, None).search(q, k=5)
        except KnowledgeBaseError as exc:
            hits, rows = [], f"<p role='alert'>{html.escape(str(exc))}</p>"
        rows += (
            "".join(
                f"<li><strong>{html.escape(h.title)}</strong> <small>{html.escape(h.id)} · {html.escape(h.section)}</small>"
                f"<pre>{html.escape(h.text)}</pre></li>"
                for h in hits
            )
            or "<p>没有找到相关事项。</p>"
        )
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>智引 · 事项检索</title>
<link rel="stylesheet" href="/static/search.css"></head>
<body><main><h1>智引 · 事项检索</h1>
<form method="get" role="search"><label for="q">您要办什么事？</label><br>
<input id="q" name="q" value="{html.escape(q)}" placeholder="例如：开个体户要带啥材料"> <button>搜索</button></form>
<ol>{rows}</ol></main></body></html>"""
