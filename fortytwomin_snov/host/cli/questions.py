"""``questions``: the labels of the host's form questions, which settings forms offer as
mapping sources (``host.form_fields()``)."""

from __future__ import annotations

from pathlib import Path

import click
from rich import box
from rich.table import Table
from rich.text import Text

from fortytwomin_snov.host.cli.app import cli, help_without_command
from fortytwomin_snov.host.cli.options import CommandFailed, with_database
from fortytwomin_snov.host.cli.output import console, print_json, visible
from fortytwomin_snov.host.reference import ReferenceHost


@cli.group(invoke_without_command=True)
@click.pass_context
def questions(context: click.Context) -> None:
    """Label the questions of your booking and routing forms.

    Settings forms offer these as mapping sources by their label. Questions seen in
    received events are listed too, under their id until you label them."""
    help_without_command(context)


@questions.command("add")
@with_database
@click.argument("source")
@click.argument("label")
@click.option("--form", "form", metavar="NAME", help="The booking page or routing form asking it.")
def questions_add(database: Path | None, source: str, label: str, form: str | None) -> None:
    """Label a question: SOURCE is invitee_form_question:<id> or routing_form_field:<id>."""
    with ReferenceHost(database) as host:
        added = host.add_question(source, label, form)
    where = f" ({added.form})" if added.form else ""
    click.echo(visible(f"{added.source} is now labelled {added.label!r}{where}."))


@questions.command("list")
@with_database
@click.option("--json", "as_json", is_flag=True, help="Print JSON, as form_fields() answers.")
def questions_list(database: Path | None, as_json: bool) -> None:
    """The questions settings forms offer: those labelled, and those seen in events."""
    with ReferenceHost(database) as host:
        found = host.form_questions()
    if as_json:
        print_json([question.to_json() for question in found])
        return
    if not found:
        click.echo(
            "No question is known yet: send events with answers, or label one with"
            " `questions add SOURCE LABEL`."
        )
        return
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("Source", overflow="fold")
    table.add_column("Label", overflow="fold")
    table.add_column("Form", overflow="fold")
    table.add_column("From", no_wrap=True)
    for question in found:
        table.add_row(
            Text(visible(question.source)),
            Text(visible(question.label)),
            Text(visible(question.form or "-")),
            "label" if question.registered else "events",
        )
    console().print(table)


@questions.command("remove")
@with_database
@click.argument("source")
def questions_remove(database: Path | None, source: str) -> None:
    """Forget the label of SOURCE (a question seen in events stays listed, by its id)."""
    with ReferenceHost(database) as host:
        removed = host.remove_question(source)
    if not removed:
        raise CommandFailed(f"No label is registered for {visible(source.strip())}")
    click.echo(visible(f"Forgot the label of {source.strip()}."))
