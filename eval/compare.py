"""Lexical only, dense only, hybrid and the plain baseline on the same question sets, from one run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eval.baseline import BaselineRetriever
from eval.faq import Question, run_retrieval
from knowledge import Fusion, KnowledgeBase
from knowledge.index import EmbeddingCache

METHODS = ("lexical", "dense", "hybrid", "baseline")


@dataclass
class QuestionSet:
    name: str
    kb: KnowledgeBase
    questions: list[Question]


def compare(
    sets: list[QuestionSet], cache: EmbeddingCache | None = None, progress: Callable[[str], None] = print
) -> dict:
    results: dict[str, dict[str, dict]] = {}
    for qs in sets:
        results[qs.name] = {}
        for method in METHODS:
            progress(f"{qs.name}: {method}")
            if method == "baseline":
                base = BaselineRetriever(list(qs.kb.sources().values()), qs.kb.embedder, cache)
                search = base.search
            else:
                kb = KnowledgeBase(
                    qs.kb.paths.root.parents[1],
                    qs.kb.name,
                    qs.kb.embedder,
                    qs.kb.chroma_url,
                    Fusion(mode=method),
                )

                def search(question: str, kb: KnowledgeBase = kb) -> list[str]:
                    return [h.id for h in kb.search(question, k=10)]

            results[qs.name][method] = run_retrieval(qs.questions, search)["overall"]
    return results


def markdown_table(results: dict) -> str:
    lines = [
        "| set | method | n | hit@1 | hit@3 | hit@5 | MRR@10 | p50 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, by_method in results.items():
        for method, m in by_method.items():
            lines.append(
                f"| {name} | {method} | {m['n']} | {m['hit@1']:.3f} | {m['hit@3']:.3f} | {m['hit@5']:.3f} | "
                f"{m['mrr@10']:.3f} | {m['latency_ms_p50']:.0f} |"
            )
    return "\n".join(lines)
