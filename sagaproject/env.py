"""Typed readers for settings that come from the environment.

Each reader fails at start-up with ImproperlyConfigured naming the variable and the value,
so a typo in a deployment never turns into a silently wrong setting.
"""

import os
import re
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

DEVELOPMENT_ENV_FILE = "development.env"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str, environ: Mapping[str, str] = os.environ) -> str:
    """The variable's value, or the default when it is unset."""
    return environ.get(name, default)


def env_bool(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    """A boolean written as 1/0, true/false, yes/no or on/off."""
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off.")


def env_int(name: str, default: int, environ: Mapping[str, str] = os.environ, minimum: int | None = None) -> int:
    """A whole number, optionally at least `minimum`."""
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def env_float(
    name: str, default: float, environ: Mapping[str, str] = os.environ, minimum: float | None = None
) -> float:
    """A number such as 0.5, optionally at least `minimum`."""
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.")
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum:g}.")
    return value


def env_list(name: str, default: list[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    """A comma-separated list; blanks between commas are dropped."""
    raw = environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...], environ: Mapping[str, str] = os.environ) -> str:
    """One of a fixed set of words."""
    value = environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of: {', '.join(choices)}.")
    return value


_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name: str, default: str, environ: Mapping[str, str] = os.environ) -> str:
    """A request rate such as 60/minute, checked now rather than on the first request it would break."""
    value = environ.get(name, default).strip().lower()
    if not _RATE.match(value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a rate: write it as a number per second, minute, hour or day, e.g. 60/minute."
        )
    return value


def load_development_env(base_dir: Path) -> Path | None:
    """Load the development site's variables that `make setup` wrote beside its databases, if any.

    The file lives in the data directory (DATA_DIR, by default var/), which only a development
    checkout has, so a deployment keeps the production defaults. A variable already in the
    environment wins over the file, so `DEBUG=0 manage.py ...` still means what it says.
    """
    path = Path(os.environ.get("DATA_DIR") or base_dir / "var") / DEVELOPMENT_ENV_FILE
    if not path.is_file():
        return None
    load_dotenv(path, override=False)
    return path
