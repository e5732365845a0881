"""Exit 0 when the PostgreSQL server of a database URL answers, 1 otherwise.

Used by `make test` and CI before the PostgreSQL test pass: the test databases are
created by the tests, so only the server (its `postgres` database) must be reachable.
"""

import sys

import dj_database_url
import psycopg


def reachable(url: str) -> bool:
    config = dj_database_url.parse(url)
    try:
        with psycopg.connect(
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=3,
        ):
            return True
    except psycopg.Error as exc:
        print(f"PostgreSQL at {config.get('HOST')}:{config.get('PORT')} is not reachable: {exc}", file=sys.stderr)
        return False


if __name__ == "__main__":
    sys.exit(0 if reachable(sys.argv[1]) else 1)
