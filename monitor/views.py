"""Plain-text views for the CLI: alerts, series, feeds, daemon status. Secrets never printed."""

from __future__ import annotations

import json
from datetime import datetime

import typer

from monitor.runtime import Runtime
from storage import alerts as alert_store
from storage import feeds as feed_store
from storage import outbox
from storage import series as series_store
from storage.db import session_scope


def _ts(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def print_alerts(rt: Runtime, limit: int, status: str | None) -> None:
    """Recent alerts, newest first, with each channel's delivery status."""
    with session_scope(rt.db) as session:
        rows = outbox.list_alerts(session, limit=limit, status=status)
    if not rows:
        typer.echo("no alerts")
        return
    for row in rows:
        deliveries = ", ".join(
            f"{d.channel}={d.status}" + (f" ({d.attempts} attempts: {d.last_error})" if d.last_error else "")
            for d in row.deliveries
        )
        typer.echo(f"{row.alert.id:>5}  {_ts(row.alert.created_at)}  {row.alert.severity:<8} {row.alert.rule}: "
                   f"{row.alert.subject}  [{deliveries or 'no channel'}]")


def print_alert(rt: Runtime, alert_id: int) -> bool:
    """Everything about one alert, explained (monitor.explain); False when there is none."""
    from monitor.explain import alert_lines

    with session_scope(rt.db) as session:
        row = outbox.get_alert(session, alert_id)
    if row is None:
        return False
    ruleset = None
    try:  # the rules in force say which baseline the trigger compared with; they are optional here
        ruleset = rt.rulebook.engine.ruleset
    except Exception:
        try:
            ruleset = rt.rulebook.load().ruleset
        except Exception:
            ruleset = None
    for line in alert_lines(row.alert, list(row.deliveries), ruleset):
        typer.echo(line)
    return True


def print_series(rt: Runtime, metric: str | None) -> None:
    """Stored series and their latest values."""
    with session_scope(rt.db) as session:
        rows = series_store.list_series(session, metric)
    if not rows:
        typer.echo("no series stored yet" + (f" for metric {metric!r}" if metric else ""))
        return
    typer.echo(f"{'metric':<24} {'entity':<22} {'unit':<8} {'kind':<8} {'n':>3}  {'latest period':<26} {'value':>22}  change")
    for row in rows:
        s, obs = row.series, row.latest
        change = f"{obs.change_pct:+g}%" if obs and obs.change_pct is not None else "-"
        typer.echo(f"{s.metric:<24} {s.entity:<22} {s.unit:<8} {s.period_kind:<8} {row.observations:>3}  "
                   f"{(obs.period_label if obs else '-'):<26} {_num(obs.value if obs else None):>22}  {change}")


def print_feeds(rt: Runtime) -> None:
    """Each configured feed's health."""
    with session_scope(rt.db) as session:
        states = {s.name: s for s in feed_store.list_feed_states(session)}
    for feed in rt.config.feeds:
        s = states.get(feed.name)
        if s is None:
            typer.echo(f"{feed.name}: never polled  ({feed.url})")
            continue
        health = "ok" if s.consecutive_errors == 0 else f"FAILING ({s.consecutive_errors} in a row)"
        typer.echo(f"{feed.name}: {health}  last success {_ts(s.last_success)}  last poll {_ts(s.last_poll)}  "
                   f"polls {s.polls}  ({feed.url})" + (f"\n    last error: {s.last_error}" if s.last_error else ""))


def print_status(rt: Runtime) -> None:
    """What the running daemon last published: rules in force, last reload error, jobs."""
    with session_scope(rt.db) as session:
        row = alert_store.get_value(session, "daemon_status")
    if row is None:
        typer.echo("no daemon has run on this database yet (start one with `soe-monitor run`)")
        return
    data = json.loads(row.value)
    typer.echo(f"daemon: {data['state']} (heartbeat {data.get('heartbeat')}, instance {data.get('owner')})")
    typer.echo(f"rules in force ({len(data['rules'])}): {', '.join(data['rules'])}")
    typer.echo(f"last reload: {data.get('last_reload')}  reloads: {data.get('reloads')}")
    typer.echo(f"last reload error: {data.get('last_reload_error') or 'none'}")
    for job in data.get("jobs", []):
        typer.echo(f"  job {job['id']}: next run {job['next_run']}")
