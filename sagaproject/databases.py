"""DATABASES built from the environment: one alias for the engine, one per service.

`default` holds the saga engine, django-q2, auth and admin; `orders`, `payments` and
`inventory` each hold one participant's data. Without `DATABASE_URL` every alias is its own
SQLite file. With `DATABASE_URL` every alias uses that server through its own connection,
unless `<SERVICE>_DATABASE_URL` names another one. On PostgreSQL a service alias works in a
schema named after it: each alias then keeps its own `django_migrations` table, which is what
lets several aliases share one database without one alias's migration history hiding
another's tables.
"""

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

SERVICE_ALIASES = ("orders", "payments", "inventory")

_SQLITE_OPTIONS = {
    # IMMEDIATE takes the write lock at BEGIN, so two processes queue on the busy timeout
    # instead of failing with "database is locked" when a reader upgrades to a writer.
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}


def masked_url(url: str) -> str:
    """The URL with its password replaced by ***, fit for an error message or a log line."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    # The credentials end at the last "@" before the path: an unquoted password may hold "@" or "/".
    authority_end = len(rest)
    for stop in ("?", "#"):
        if stop in rest:
            authority_end = min(authority_end, rest.index(stop))
    authority, tail = rest[:authority_end], rest[authority_end:]
    if "@" in authority:
        credentials, host = authority.rsplit("@", 1)
        user, has_password, _ = credentials.partition(":")
        authority = f"{user}:***@{host}" if has_password else f"{credentials}@{host}"
    tail = re.sub(r"(?i)(password=)[^&#]*", r"\1***", tail)
    return f"{scheme}{separator}{authority}{tail}"


def _parse(name: str, url: str) -> dict[str, Any]:
    shown = masked_url(url)
    try:
        config = dj_database_url.parse(url)
    except Exception as exc:  # the library raises several types for a malformed URL
        raise ImproperlyConfigured(f"{name}={shown!r} is not a valid database URL: {exc}") from None
    engine = config.get("ENGINE", "")
    if not engine:
        raise ImproperlyConfigured(f"{name}={shown!r} names no database engine this project knows.")
    if engine.endswith("postgresql") and not config.get("NAME"):
        raise ImproperlyConfigured(f"{name}={shown!r} names no database.")
    return config


def _sqlite(path: Path) -> dict[str, Any]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": dict(_SQLITE_OPTIONS),
        # Tests need files, not memory: a worker process must open the same test database.
        "TEST": {"NAME": str(path.with_name(f"test_{path.name}"))},
    }


def _tune(alias: str, config: dict[str, Any]) -> dict[str, Any]:
    engine = config["ENGINE"]
    if engine.endswith("sqlite3"):
        options = dict(_SQLITE_OPTIONS)
        options.update(config.get("OPTIONS") or {})
        config["OPTIONS"] = options
        name = Path(config["NAME"])
        config.setdefault("TEST", {"NAME": str(name.with_name(f"test_{name.name}"))})
    elif engine.endswith("postgresql"):
        # Reconnecting on every task is the largest cost in a django-q2 worker.
        config["CONN_MAX_AGE"] = config.get("CONN_MAX_AGE") or 300
        config["CONN_HEALTH_CHECKS"] = True
        if alias in SERVICE_ALIASES:
            options = dict(config.get("OPTIONS") or {})
            options["options"] = f"-c search_path={alias}"
            config["OPTIONS"] = options
            config["SCHEMA"] = alias
            # A distinct test name keeps Django from treating the alias as a mirror of
            # `default` (a mirror is never migrated); the test database is then its own.
            config["TEST"] = {"NAME": f"test_{config['NAME']}_{alias}"}
    config["ATOMIC_REQUESTS"] = False
    return config


def build_databases(base_dir: Path, environ: Mapping[str, str] = os.environ) -> dict[str, dict]:
    """The DATABASES setting for the engine alias and the three service aliases."""
    data_dir = Path(environ.get("DATA_DIR") or base_dir / "var")
    main_url = environ.get("DATABASE_URL", "").strip()
    databases: dict[str, dict] = {}
    if main_url:
        databases["default"] = _tune("default", _parse("DATABASE_URL", main_url))
    else:
        databases["default"] = _sqlite(data_dir / "default.sqlite3")
    for alias in SERVICE_ALIASES:
        variable = f"{alias.upper()}_DATABASE_URL"
        url = environ.get(variable, "").strip()
        if url:
            databases[alias] = _tune(alias, _parse(variable, url))
        elif main_url:
            databases[alias] = _tune(alias, _parse("DATABASE_URL", main_url))
        else:
            databases[alias] = _sqlite(data_dir / f"{alias}.sqlite3")
    return databases


def sqlite_dirs(databases: Mapping[str, dict]) -> set[Path]:
    """Folders that must exist before SQLite can create its files."""
    return {Path(config["NAME"]).parent for config in databases.values() if config["ENGINE"].endswith("sqlite3")}
