"""`ledger users …`: what an admin runs to manage the API's users and their keys."""

from __future__ import annotations

from uuid import UUID

import click

from ledger.cli import main
from ledger.cli._common import ledger_app
from ledger.domain.errors import LedgerError
from ledger.settings import get_settings
from ledger.users import ROLES, open_users


@main.group()
def users() -> None:
    """Add, list and revoke the users of the HTTP API."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="what the user may do")
@click.option("--sponsor", "sponsor", help="the sponsor id a sponsor user is bound to")
def add(name: str, role: str, sponsor: str | None) -> None:
    """Create a user; prints the new API key as the last line (it is shown only once)."""
    sponsor_id = _sponsor_id(sponsor)
    if sponsor_id is not None:
        app = ledger_app()
        try:
            app.sponsor(sponsor_id)
        except LedgerError as e:
            raise click.ClickException(e.detail) from None
        finally:
            app.close()
    store = open_users(get_settings())
    try:
        key = store.add(name, role, sponsor_id)
    except LedgerError as e:
        raise click.ClickException(e.detail) from None
    finally:
        store.close()
    click.echo(f"added {role} {name}" + (f" for sponsor {sponsor_id}" if sponsor_id else ""))
    click.echo("the API key below is shown only now; store it safely:")
    click.echo(key)


@users.command("list")
def list_users() -> None:
    """List users, their roles and whether they are revoked (never their keys)."""
    store = open_users(get_settings())
    try:
        found = store.list()
    finally:
        store.close()
    for user in found:
        state = f"revoked {user.revoked_at}" if user.revoked_at else "active"
        sponsor = f" sponsor={user.sponsor_id}" if user.sponsor_id else ""
        click.echo(f"{user.name}\t{user.role}{sponsor}\t{state}\tcreated {user.created_at}")


@users.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke a user's key at once (a running server refuses it from its next request)."""
    store = open_users(get_settings())
    try:
        store.revoke(name)
    except LedgerError as e:
        raise click.ClickException(e.detail) from None
    finally:
        store.close()
    click.echo(f"revoked {name}")


def _sponsor_id(value: str | None) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a sponsor id (a UUID)",
                                 param_hint="--sponsor") from None
