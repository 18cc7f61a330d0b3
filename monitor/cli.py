"""The `soe-monitor` command line (see README.md#cli).

Exit codes: 0 done; 1 a check failed (rules check, rules test, notify-test); 2 bad config or usage.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from monitor.config import Config, ConfigError, load_config, parse_duration

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Watch China's state-owned enterprises through the news.")
rules_app = typer.Typer(no_args_is_help=True, help="Check, test and replay alert rules.")
alerts_app = typer.Typer(help="Alerts and their delivery status.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
silence_app = typer.Typer(no_args_is_help=True, help="Mute a rule (or some of its alerts) for a while.")
app.add_typer(rules_app, name="rules")
app.add_typer(alerts_app, name="alerts")
app.add_typer(silence_app, name="silence")
app.add_typer(db_app, name="db")

log = logging.getLogger("monitor")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error to stderr and return the Exit to raise."""
    typer.echo(message, err=True)
    return typer.Exit(code)


def get_config(ctx: typer.Context) -> Config:
    """Load (once) the config named by --config; exit 2 with the file and key on error."""
    state = ctx.find_root().obj
    if state.get("config") is None:
        try:
            state["config"] = load_config(state["config_path"])
        except ConfigError as exc:
            raise fail(str(exc)) from None
        _logging(state["config"], state.get("verbose", False))
    return state["config"]


def _logging(config: Config, verbose: bool) -> None:
    from monitor.logs import config_secrets, setup_logging

    setup_logging("DEBUG" if verbose else config.logging.level, config.logging.format, config_secrets(config))


def get_runtime(ctx: typer.Context, *, load_rules: bool = True):  # type: ignore[no-untyped-def]
    """Build the Runtime; exit 2 when the rules cannot be loaded."""
    from monitor.rulebook import RuleBookError
    from monitor.runtime import Runtime

    config = get_config(ctx)
    try:
        return Runtime.build(config, load_rules=load_rules)
    except RuleBookError as exc:
        raise fail(f"rules could not be loaded:\n{exc}") from None


@app.callback()
def main_callback(
    ctx: typer.Context,
    config: Annotated[Path, typer.Option("--config", "-c", help="config file", envvar="SOE_MONITOR_CONFIG")] = Path("config.toml"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="debug logging")] = False,
) -> None:
    """SOE Monitor: feeds -> figures and contracts -> baselines -> YAML rules -> alerts."""
    ctx.obj = {"config_path": config, "config": None, "verbose": verbose}


@app.command()
def run(ctx: typer.Context) -> None:
    """Run the daemon: poll on schedule, deliver alerts, reload rules on change."""
    from monitor.daemon import Daemon

    rt = get_runtime(ctx)
    try:
        Daemon(rt).run()
    finally:
        rt.close()


@app.command()
def once(ctx: typer.Context) -> None:
    """Poll every feed once, evaluate rules, deliver alerts, then exit (0 even if a feed failed)."""
    from concurrent.futures import ThreadPoolExecutor

    from monitor.delivery import Deliverer
    from monitor.poll import poll_feed

    rt = get_runtime(ctx)
    try:
        rt.release_dead_leases()
        # Feeds are fetched in parallel (as the daemon does); reports print in config order.
        with ThreadPoolExecutor(max(1, rt.config.fetch.workers)) as pool:
            reports = list(pool.map(lambda f: poll_feed(rt, f, force=True), rt.config.feeds))
        for feed, report in zip(rt.config.feeds, reports):
            detail = report.error or (f"{report.entries} entries, {report.new_articles} new, {report.figures} figures, "
                                      f"{report.contracts} contracts, {report.alerts} alerts"
                                      + (" (first poll: baseline)" if report.baseline else ""))
            typer.echo(f"feed {feed.name}: {report.status}: {detail}")
        result = Deliverer(rt.db, rt.config, rt.owner).deliver_due()
        typer.echo(f"delivery: {result}")
    finally:
        rt.close()


def _read_source(source: str, config: Config) -> tuple[str, str | None]:
    """Text of a file, URL or stdin ('-'); HTML is reduced to its main text."""
    if source == "-":
        return sys.stdin.read(), None
    if source.startswith(("http://", "https://")):
        from monitor.article_text import fetch_full_text
        from monitor.fetch import Fetcher

        with Fetcher(config.fetch) as fetcher:
            text = fetch_full_text(fetcher, source)
        if text is None:
            raise fail(f"{source}: could not fetch or find the article text: check the URL")
        return text, source
    path = Path(source)
    if not path.is_file():
        raise fail(f"{source}: no such file: give a file path, an http(s) URL or - for stdin")
    data = path.read_bytes()
    if path.suffix.lower() in (".html", ".htm"):
        from monitor.article_text import extract_main_text

        return extract_main_text(data, path.resolve().as_uri()) or "", None
    return data.decode("utf-8", errors="replace"), None


@app.command()
def extract(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="file path, http(s) URL, or - for stdin")],
    as_json: Annotated[bool, typer.Option("--json", help="print the JSON facts contract")] = False,
    published: Annotated[Optional[str], typer.Option(help="publication date YYYY-MM-DD (resolves 'last year')")] = None,
    lang: Annotated[Optional[str], typer.Option(help="en or zh (default: detected)")] = None,
) -> None:
    """Print the figures and contracts in one article."""
    from monitor.extract import format_table
    from monitor.workers import build_extractor

    config = _config_or_default(ctx)
    try:
        pub = date.fromisoformat(published) if published else None
    except ValueError:
        raise fail(f"--published {published!r}: use YYYY-MM-DD") from None
    if lang not in (None, "en", "zh"):
        raise fail(f"--lang {lang!r}: use en or zh")
    text, _ = _read_source(source, config)
    extractor = build_extractor(config.extract)
    facts = extractor.extract(text, published=pub, lang=lang)
    if as_json:
        typer.echo(json.dumps(facts.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        typer.echo(format_table(facts))


def _config_or_default(ctx: typer.Context) -> Config:
    """`extract` works without a config file: defaults then."""
    if not Path(ctx.find_root().obj["config_path"]).exists():
        return Config()
    return get_config(ctx)


@rules_app.command("check")
def rules_check(
    ctx: typer.Context,
    paths: Annotated[Optional[list[Path]], typer.Argument(help="rule files or folders (default: [rules] paths)")] = None,
) -> None:
    """Validate rule files; exit 1 with file:line:col errors."""
    from monitor.workers import build_extractor
    from rules.loader import load_rules

    config = get_config(ctx)
    extractor = build_extractor(config.extract)
    targets = [str(p) for p in paths] if paths else config.rules.paths
    result = load_rules(targets, set(config.channels), extractor.known_metrics(), extractor.known_entities())
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if result.errors:
        for error in result.errors:
            typer.echo(str(error))
        typer.echo(f"{len(result.errors)} error(s) in {len(result.files)} file(s)", err=True)
        raise typer.Exit(1)
    count = len(result.ruleset.rules) if result.ruleset else 0
    typer.echo(f"ok: {count} rule(s) in {len(result.files)} file(s)")


@rules_app.command("test")
def rules_test(
    ctx: typer.Context,
    paths: Annotated[Optional[list[Path]], typer.Argument(help="test files or folders (default: the rule folders)")] = None,
    junit: Annotated[Optional[Path], typer.Option("--junit", help="also write a JUnit XML report")] = None,
) -> None:
    """Run rule unit tests (*.test.yaml): articles or facts in, expected alerts out. Exit 1 on failure."""
    from monitor.ruletest import find_test_files, run_file, write_junit
    from monitor.workers import build_extractor

    config = get_config(ctx)
    files = find_test_files(list(paths) if paths else [Path(p) for p in config.rules.paths], explicit=bool(paths))
    if not files:
        raise fail("no rule test files (*.test.yaml) found", 1)
    extractor = build_extractor(config.extract)
    results = [r for f in files for r in run_file(f, config, extractor)]
    for r in results:
        typer.echo(f"{'PASS' if r.ok else 'FAIL'}  {r.file}: {r.name}")
        for failure in r.failures:
            typer.echo("      " + failure.replace("\n", "\n      "))
    failed = sum(not r.ok for r in results)
    typer.echo(f"{len(results) - failed} passed, {failed} failed")
    if junit:
        write_junit(results, junit)
    if failed:
        raise typer.Exit(1)


@rules_app.command("backtest")
def rules_backtest(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", help="YYYY-MM-DD: report what would have fired since then")],
) -> None:
    """Replay stored articles through today's extractor and rules; print what would have fired. Sends nothing."""
    from monitor.backtest import backtest

    try:
        start = datetime.fromisoformat(since)
        start = start if start.tzinfo else start.replace(tzinfo=timezone.utc)
    except ValueError:
        raise fail(f"--since {since!r}: use YYYY-MM-DD") from None
    rt = get_runtime(ctx)
    try:
        fired = backtest(rt, start)
    finally:
        rt.close()
    for a in fired:
        typer.echo(f"{a.at:%Y-%m-%d %H:%M}  {a.severity:<8} {a.rule}: {a.subject}  -> {', '.join(a.channels)}")
    typer.echo(f"{len(fired)} alert(s) would have fired since {start:%Y-%m-%d} (nothing was sent)")


@rules_app.command("why")
def rules_why(
    ctx: typer.Context,
    article: Annotated[str, typer.Argument(help="a stored article's id or URL (see `soe-monitor alerts show`)")],
) -> None:
    """For each fact of a stored article and each rule in force: did it fire, and why (not)? Sends nothing."""
    from monitor.explain import explain_article

    rt = get_runtime(ctx)
    try:
        lines = explain_article(rt, article)
    finally:
        rt.close()
    if lines is None:
        raise fail(f"no stored article {article!r}: give an article id or its URL", 1)
    for line in lines:
        typer.echo(line)


@alerts_app.callback(invoke_without_command=True)
def alerts_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="how many")] = 20,
    status: Annotated[Optional[str], typer.Option(help="only pending, sent, failed, dead, silenced or digest")] = None,
) -> None:
    """Recent alerts with their delivery status per channel."""
    if ctx.invoked_subcommand:
        return
    from monitor.views import print_alerts

    rt = get_runtime(ctx, load_rules=False)
    try:
        print_alerts(rt, limit, status)
    finally:
        rt.close()


@alerts_app.command("show")
def alerts_show(ctx: typer.Context, alert_id: int) -> None:
    """One alert: rule, fact, quote, baseline and its source, delivery attempts."""
    from monitor.views import print_alert

    rt = get_runtime(ctx, load_rules=False)
    try:
        if not print_alert(rt, alert_id):
            raise fail(f"no alert {alert_id}: see `soe-monitor alerts`", 1)
    finally:
        rt.close()


@alerts_app.command("retry")
def alerts_retry(ctx: typer.Context, alert_id: int) -> None:
    """Send a failed or dead alert again."""
    from storage import outbox
    from storage.db import session_scope

    rt = get_runtime(ctx, load_rules=False)
    try:
        with session_scope(rt.db) as session:
            count = outbox.retry(session, alert_id)
        if not count:
            raise fail(f"alert {alert_id} has no failed or dead delivery to retry", 1)
        typer.echo(f"alert {alert_id}: {count} delivery(ies) queued again")
    finally:
        rt.close()


@app.command()
def series(ctx: typer.Context, metric: Annotated[Optional[str], typer.Argument(help="canonical metric, e.g. exports")] = None) -> None:
    """Stored series and their latest values."""
    from monitor.views import print_series

    rt = get_runtime(ctx, load_rules=False)
    try:
        print_series(rt, metric)
    finally:
        rt.close()


@app.command()
def export(
    ctx: typer.Context,
    metric: Annotated[Optional[str], typer.Argument(help="canonical metric, e.g. exports (default: all)")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv or json")] = "csv",
) -> None:
    """Every stored observation with its series, period, value, quote and article link, as CSV or JSON."""
    from monitor.export import FORMATS, write_export

    if fmt not in FORMATS:
        raise fail(f"--format {fmt!r}: use csv or json")
    rt = get_runtime(ctx, load_rules=False)
    try:
        write_export(rt.db, sys.stdout, fmt, metric)
    finally:
        rt.close()


@app.command()
def feeds(ctx: typer.Context) -> None:
    """Each feed's health: last success, consecutive errors, last error."""
    from monitor.views import print_feeds

    rt = get_runtime(ctx, load_rules=False)
    try:
        print_feeds(rt)
    finally:
        rt.close()


@app.command()
def status(ctx: typer.Context) -> None:
    """Rules in force, last reload error and scheduler state of the running daemon."""
    from monitor.views import print_status

    rt = get_runtime(ctx, load_rules=False)
    try:
        print_status(rt)
    finally:
        rt.close()


@app.command("notify-test")
def notify_test(ctx: typer.Context, channel: Annotated[str, typer.Argument(help="channel name from config.toml")]) -> None:
    """Send a test notification through one channel and print the real outcome."""
    from monitor.delivery import Deliverer

    config = get_config(ctx)
    if channel not in config.channels:
        raise fail(f"no channel {channel!r} in {config.source}: known: {', '.join(config.channels) or 'none'}", 2)
    rt = get_runtime(ctx, load_rules=False)
    try:
        outcome = Deliverer(rt.db, config, rt.owner).notify_test(channel)
    finally:
        rt.close()
    if outcome.ok:
        typer.echo(f"{channel}: sent")
        return
    raise fail(f"{channel}: FAILED: {outcome.reason}", 1)


@silence_app.command("add")
def silence_add(
    ctx: typer.Context,
    rule: Annotated[str, typer.Option("--rule", help="rule name, or * for every rule")],
    duration: Annotated[str, typer.Option("--for", help="how long, e.g. 4h, 2d")],
    match: Annotated[Optional[list[str]], typer.Option("--match", help="field=value (repeatable): metric, entity, company, key...")] = None,
    comment: Annotated[str, typer.Option(help="why")] = "",
) -> None:
    """Mute a rule, or only its alerts whose fact matches, for a while; silenced alerts are recorded, not sent."""
    from storage import alerts as alert_store
    from storage.db import session_scope
    from storage.models import Silence, utcnow

    try:
        length = parse_duration(duration)
    except ValueError as exc:
        raise fail(f"--for: {exc}") from None
    matchers: dict[str, str] = {}
    for item in match or []:
        field, sep, value = item.partition("=")
        if not sep or not field:
            raise fail(f"--match {item!r}: use field=value, e.g. --match entity=SOEs")
        matchers[field.strip()] = value.strip()
    rt = get_runtime(ctx, load_rules=False)
    try:
        with session_scope(rt.db) as session:
            s = alert_store.add_silence(session, Silence(rule=rule, matchers=matchers, comment=comment, ends_at=utcnow() + length))
        typer.echo(f"silence {s.id}: rule {rule} {matchers or ''} until {s.ends_at:%Y-%m-%d %H:%M} UTC")
    finally:
        rt.close()


@silence_app.command("list")
def silence_list(ctx: typer.Context, all_: Annotated[bool, typer.Option("--all", help="include expired")] = False) -> None:
    """Silences in force (or all)."""
    from storage import alerts as alert_store
    from storage.db import session_scope

    rt = get_runtime(ctx, load_rules=False)
    try:
        with session_scope(rt.db) as session:
            rows = alert_store.list_silences(session, include_expired=all_)
        if not rows:
            typer.echo("no silences")
        for s in rows:
            typer.echo(f"{s.id:>4}  rule={s.rule}  match={s.matchers or {}}  until={s.ends_at:%Y-%m-%d %H:%M} UTC  {s.comment}")
    finally:
        rt.close()


@silence_app.command("expire")
def silence_expire(ctx: typer.Context, silence_id: int) -> None:
    """End a silence now."""
    from storage import alerts as alert_store
    from storage.db import session_scope
    from storage.models import utcnow

    rt = get_runtime(ctx, load_rules=False)
    try:
        with session_scope(rt.db) as session:
            ok = alert_store.expire_silence(session, silence_id, utcnow())
        if not ok:
            raise fail(f"no silence {silence_id}: see `soe-monitor silence list`", 1)
        typer.echo(f"silence {silence_id} expired")
    finally:
        rt.close()


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Migrate the database schema to the latest version (also done on every start)."""
    from storage.db import make_engine
    from storage.migrate import current_revision, upgrade

    config = get_config(ctx)
    engine = make_engine(config.storage.url)
    try:
        before = current_revision(engine)
        upgrade(engine)
        typer.echo(f"database schema: {before or 'empty'} -> {current_revision(engine)}")
    finally:
        engine.dispose()


def main() -> None:
    """Console-script entry point."""
    app()
