"""Issue 6 acceptance: channel secrets (an SMTP password, a Slack token, a webhook token) never show
in any command's output, in DEBUG logs, or anywhere in the database, even when every send fails."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.e2e.crash_helpers import CONTRACT_RULES, GrowingFeeds, ScriptedSmtp, db_path, query, write_project
from tests.support import ROOT, LoopbackHTTP, free_port, run_cli, wait_for

RULES = CONTRACT_RULES.replace("notify: [email]", "notify: [email, email-auth, slack, hook]")
CHANNELS = ("email", "email-auth", "slack", "hook")


@pytest.mark.timeout(300)
def test_secrets_stay_out_of_output_logs_and_database(tmp_path: Path, http_server: LoopbackHTTP) -> None:
    secrets = {
        "SMTP_PASSWORD": f"pw-{uuid.uuid4().hex}",
        "SLACK_SECRET": uuid.uuid4().hex,  # apprise wants Slack tokens alphanumeric
        "HOOK_SECRET": f"hk{uuid.uuid4().hex}",
    }
    env = {**os.environ, **secrets}
    closed = free_port()  # nobody listens: every send fails, so errors (and their texts) are recorded
    # A listening SMTP server that offers AUTH and refuses the login: the password really travels.
    smtp = ScriptedSmtp(reject_auth=True).start()
    feeds = GrowingFeeds(http_server, ["desk"])
    feeds.add("desk")
    config = write_project(
        tmp_path, feeds={"desk": feeds.url("desk")}, rules=RULES,
        channels={
            "email": f"mailto://monitor:${{SMTP_PASSWORD}}@127.0.0.1:{closed}?from=monitor@example.com"
                     "&to=analyst@example.com&mode=insecure",
            "email-auth": smtp.url("monitor:${SMTP_PASSWORD}@"),
            "slack": "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnl${SLACK_SECRET}/#soe-alerts",
            "hook": f"json://127.0.0.1:{closed}/hooks/${{HOOK_SECRET}}",
        },
        delivery='backoff_initial = "0s"\ninterval = "0.5s"\nmax_attempts = 20\n', feed_interval="1s",
    )
    outputs: dict[str, str] = {}
    try:
        run_commands_and_daemon(config, tmp_path, secrets, env, outputs)
    finally:
        smtp.stop()
    assert secrets["SMTP_PASSWORD"] in smtp.passwords  # the AUTH path was exercised

    for name, secret in secrets.items():
        for command, text in outputs.items():
            assert secret not in text, f"{name} leaked in the output of `{command}`"

    # Every table, every column (the SQL dump), and the raw bytes of the database files.
    conn = sqlite3.connect(db_path(tmp_path))
    try:
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    assert "INSERT INTO" in dump and "delivery" in dump
    raw = b"".join(p.read_bytes() for p in db_path(tmp_path).parent.iterdir() if p.name.startswith("monitor.db"))
    for name, secret in secrets.items():
        assert secret not in dump, f"{name} stored in the database"
        assert secret.encode() not in raw, f"{name} written to the database files"


def run_commands_and_daemon(config: Path, tmp_path: Path, secrets: dict[str, str], env: dict[str, str],
                            outputs: dict[str, str]) -> None:
    """Every command that prints channel state, `once` and `run --verbose`, outputs kept in `outputs`."""

    def cli(*args: str, ok: bool = True) -> str:
        result = run_cli(["--config", str(config), "--verbose", *args], cwd=tmp_path, env=secrets)
        if ok:
            assert result.code == 0, f"{args}: {result.stdout}\n{result.stderr}"
        text = result.stdout + result.stderr
        outputs[" ".join(args)] = text
        return text

    out = cli("once")
    assert "1 alerts" in out and "0 sent, 3 failed, 1 dead" in out, out  # 535 on AUTH is permanent
    listing = cli("alerts")
    alert_id = listing.split()[0]
    assert listing.count("=failed") == 3 and "email-auth=dead" in listing and "535" in listing, listing
    show = cli("alerts", "show", alert_id)
    assert show.count("last error:") == 4, show
    for channel in CHANNELS:
        assert "FAILED" in cli("notify-test", channel, ok=False)
    cli("feeds")
    cli("status")

    # The daemon, with DEBUG logging, retrying the failed sends a few times.
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "--verbose", "run"],
                                cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: query(
                tmp_path, "SELECT min(attempts) FROM delivery WHERE channel != 'email-auth'")[0][0] >= 3, timeout=90,
                     what="the daemon to retry every channel")
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
    outputs["run"] = log_path.read_text()
    assert code == 0, outputs["run"][-3000:]
    assert "DEBUG" in outputs["run"]  # --verbose really logged at DEBUG
    cli("status")
    outputs["alerts show (after run)"] = cli("alerts", "show", alert_id)
    errors = [row[0] for row in query(tmp_path, "SELECT last_error FROM delivery")]
    assert all(errors), errors  # the failures were recorded, with their reasons
    print("recorded errors:", *errors, sep="\n  ")
    print("notify-test:", *(outputs[f"notify-test {c}"].strip().splitlines()[-1] for c in CHANNELS), sep="\n  ")
