"""Which broker the settings choose, read in a fresh process with only the variables given."""

import json
import subprocess
import sys

import pytest
from django.conf import settings

from sagas.workers.broker import LISTEN_BROKER

SHOW = (
    "import json, sagaproject.settings as s; "
    "print(json.dumps([s.Q_LISTEN, s.Q_CLUSTER.get('broker_class'), s.Q_CLUSTER['poll']]))"
)
POSTGRES = "postgres://postgres@127.0.0.1:5432/sagas"


def _settings(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "1", **env},
        capture_output=True,
        text=True,
    )


def _chosen(**env: str) -> list:
    result = _settings(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_on_postgresql_workers_listen_and_poll_once_a_second(tmp_path):
    assert _chosen(DATA_DIR=str(tmp_path), DATABASE_URL=POSTGRES) == [True, LISTEN_BROKER, 1.0]


def test_on_sqlite_the_plain_orm_broker_polls_ten_times_a_second(tmp_path):
    assert _chosen(DATA_DIR=str(tmp_path)) == [False, None, 0.1]


def test_listening_can_be_turned_off_and_the_poll_set(tmp_path):
    assert _chosen(DATA_DIR=str(tmp_path), DATABASE_URL=POSTGRES, Q_LISTEN="0", Q_POLL="0.25") == [False, None, 0.25]


def test_the_redis_broker_never_listens(tmp_path):
    assert _chosen(DATA_DIR=str(tmp_path), DATABASE_URL=POSTGRES, Q_BROKER="redis")[:2] == [False, None]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"Q_LISTEN": "1"}, "Q_LISTEN=1 needs the ORM broker (Q_BROKER=orm) on PostgreSQL"),
        ({"Q_POLL": "soon"}, "Q_POLL='soon' is not a number"),
        ({"Q_POLL": "0"}, "Q_POLL='0' must be at least 0.01"),
    ],
)
def test_a_setting_the_broker_cannot_honour_stops_the_start(tmp_path, env, message):
    result = _settings(DATA_DIR=str(tmp_path), **env)
    assert result.returncode != 0
    assert message in result.stderr
