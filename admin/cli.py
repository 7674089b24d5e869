"""Admin scripts of spec 8 as `circus` sub-commands: users, groups, tokens, password hashes, db-check, ULIDs.

Command errors exit non-zero with the message (CIRCUS exits 0; spec 8 Re-impl).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import click
from pymongo.asynchronous.database import AsyncDatabase

from admin import accounts, db_check
from circus_api import auth
from circus_api.db.document_schemas import MODELS
from circus_api.db.ids import new_ulid
from circus_api.errors import CircusError
from circus_api.settings import Settings

SettingsLoader = Callable[..., Settings]
DatabaseRunner = Callable[[Settings, Callable[[AsyncDatabase], Awaitable[Any]]], Any]


def register_admin_commands(main: click.Group, load_settings: SettingsLoader, run: DatabaseRunner) -> None:
    def run_action(action: Callable[[AsyncDatabase], Awaitable[Any]]) -> Any:
        try:
            return run(load_settings(), action)
        except CircusError as exc:
            raise click.ClickException(exc.message) from None

    @main.group()
    def user() -> None:
        """Manage user accounts."""

    @user.command("add")
    @click.argument("email")
    @click.option("--login-id", help="Login name (default: the part of EMAIL before @).")
    @click.option("--group", "group_ids", type=int, multiple=True, help="Group ID (repeatable).")
    @click.option("--description", default="", help="Free text shown to admins.")
    @click.password_option(help="Password (prompted twice when omitted).")
    def user_add(email: str, login_id: str | None, group_ids: tuple[int, ...], description: str, password: str) -> None:
        """Create a user."""
        login = login_id or email.split("@")[0]
        run_action(lambda db: accounts.add_user(db, email, login, password, list(group_ids), description))
        click.echo(f"Created {email} (login {login}).")

    @user.command("list")
    def user_list() -> None:
        """List users with their groups."""
        for row in run_action(accounts.list_users):
            state = "" if row.get("loginEnabled", True) else "  (login disabled)"
            click.echo(f"{row['userEmail']}\t{row.get('loginId', '')}\tgroups={row.get('groups', [])}{state}")

    @user.command("passwd")
    @click.argument("user_name", metavar="USER")
    @click.password_option(help="New password (prompted twice when omitted).")
    def user_passwd(user_name: str, password: str) -> None:
        """Set the password of USER (e-mail or login ID)."""
        run_action(lambda db: accounts.set_password(db, user_name, password))
        click.echo("Password changed.")

    @main.group()
    def group() -> None:
        """Manage groups."""

    @group.command("add")
    @click.argument("name")
    @click.option("--privilege", "privileges", multiple=True, help="Global privilege (repeatable).")
    @click.option("--domain", "domains", multiple=True, help="DICOM domain (repeatable).")
    def group_add(name: str, privileges: tuple[str, ...], domains: tuple[str, ...]) -> None:
        """Create a group and print its ID."""
        group_id = run_action(lambda db: accounts.add_group(db, name, list(privileges), list(domains)))
        click.echo(f"Created group {group_id} ({name}).")

    @group.command("list")
    def group_list() -> None:
        """List groups with their privileges and domains."""
        for row in run_action(accounts.list_groups):
            click.echo(f"{row['groupId']}\t{row.get('groupName', '')}\tprivileges={row.get('privileges', [])}"
                       f"\tdomains={row.get('domains', [])}")

    @main.group()
    def token() -> None:
        """Manage API tokens."""

    @token.command("add")
    @click.argument("user_name", metavar="USER")
    @click.option("--description", "-d", default="A permanent token for API access", show_default=True)
    def token_add(user_name: str, description: str) -> None:
        """Create a permanent token for USER (e-mail or login ID) and print it."""
        click.echo(run_action(lambda db: accounts.add_permanent_token(db, user_name, description)))

    @token.command("clear")
    @click.option("--all", "-a", "include_permanent", is_flag=True, help="Delete permanent tokens too.")
    def token_clear(include_permanent: bool) -> None:
        """Delete every session token (of every user)."""
        count = run_action(lambda db: accounts.clear_tokens(db, include_permanent))
        click.echo(f"Deleted {count} token(s).")

    @main.command("generate-password-hash")
    @click.password_option()
    def generate_password_hash(password: str) -> None:
        """Print a PHP-compatible bcrypt hash of a password."""
        click.echo(auth.hash_password_sync(password))

    @main.command("db-check")
    @click.option("--target", "-t", "targets", multiple=True, type=click.Choice(list(MODELS)),
                  help="Model to check (repeatable; default: all of them).")
    def db_check_command(targets: tuple[str, ...]) -> None:
        """Validate every document of the API's collections; stop at the first invalid one."""

        def print_count(checked: db_check.CheckedCollection) -> None:
            click.echo(f"{checked.model} ({checked.collection}): {checked.documents} documents OK")

        report: db_check.CheckReport = run_action(lambda db: db_check.check_collections(db, targets, print_count))
        if report.invalid:
            invalid = report.invalid
            click.echo(f"{invalid.model} ({invalid.collection}): invalid document {invalid.key_field}={invalid.key}",
                       err=True)
            for line in invalid.errors:
                click.echo(f"  {line}", err=True)
            raise SystemExit(1)

    @main.command()
    def ulid() -> None:
        """Print a new lower-case ULID."""
        click.echo(new_ulid())
