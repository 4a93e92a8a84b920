"""Users' privacy: the pseudonym key, a user's pseudonym, and removing a user everywhere."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.common import console, echo_records, fail, settings_or_fail, submit
from warehouse.pseudonyms import PseudonymKeyError, write_new_key

app = typer.Typer()


@app.command()
def keygen(
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing when a key is already configured.")
    ] = False,
) -> None:
    """Create a random pseudonym key in INTEREST_PSEUDONYM_KEY_FILE (default
    <home>/secrets/pseudonym.key, owner-readable only); an existing key is never replaced.
    """
    settings = settings_or_fail()
    path = settings.pseudonym_key_path
    if settings.pseudonym_key is not None or path.exists():
        if if_missing:
            return
        raise fail(f"a pseudonym key is already configured ({path} or INTEREST_PSEUDONYM_KEY)")
    write_new_key(path)
    console.print(f"pseudonym key written to {path}", highlight=False)


@app.command()
def pseudonym(user_id: Annotated[str, typer.Argument(help="Raw user id, as in the logs.")]) -> None:
    """The id the tables hold for a raw user id (its pseudonym), to find the user's rows."""
    settings = settings_or_fail()
    try:
        print(settings.stored_user_ids()(user_id))
    except PseudonymKeyError as exc:
        raise fail(str(exc)) from None


@app.command("forget-user")
def forget_user(
    user_id: Annotated[str, typer.Argument(help="Raw user id, as in the logs.")],
    purge_now: Annotated[
        bool,
        typer.Option(
            "--purge-now",
            help="VACUUM the touched tables with no retention at once: the rows leave the disk "
            "now, and those tables lose their history (rollback, time travel).",
        ),
    ] = False,
) -> None:
    """Remove a user from every table, the graph and the model files; ingest keeps their
    events out from now on.
    """
    from models.forget import forget_in_models

    settings = settings_or_fail()
    try:
        settings.user_id_key()
    except PseudonymKeyError as exc:
        raise fail(str(exc)) from None
    result: dict = {}

    def keep(line: str) -> None:
        echo_records(line)
        if line.startswith('{"job": "forget"'):
            result.update(json.loads(line))

    args = ["--user-id", user_id, *(["--purge-now"] if purge_now else [])]
    submit(settings, "forget", args, keep)
    user_idx = result["counts"]["user_idx"]
    if user_idx:
        print(json.dumps({"models": forget_in_models(settings, user_idx)}))
    final = (
        "now (--purge-now)"
        if purge_now
        else f"when `interest vacuum` runs {settings.retention_days} days from now or later"
    )
    console.print(f"user removed; older table versions keep them until {final}", highlight=False)
