"""The heartbeat each healing worker cluster publishes, and how the rest of the system reads it.

A cluster started by `run_workers` (sagas.workers.cluster) writes one entry to django-q2's
cluster cache (the `cache` of Q_CLUSTER, shared by every host) every few seconds: the tasks
it finished, the queue rows its processes hold, its workers, and its supervisor's restart
count. The entry expires when the cluster stops writing it. A cluster started with a plain
`qcluster` publishes django-q2's status only, so it has no heartbeat here.
"""

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.cache import caches
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.status import Stat

# How often a cluster publishes, and how long an entry outlives its last write.
HEARTBEAT_SECONDS = 2.0
HEARTBEAT_TTL_SECONDS = 15


@dataclass
class ClusterHeartbeat:
    host: str
    pid: int  # the cluster's main process, as in django-q2's status
    sentinel: int
    started_at: float  # epoch seconds
    at: float
    window_seconds: int
    workers: list[int] = field(default_factory=list)
    finished: int = 0
    finished_in_window: int = 0
    last_finish_at: float | None = None
    in_hand: list[int] = field(default_factory=list)  # OrmQ row ids queued in memory or running
    supervisor: str = ""
    restarts: int = 0
    last_restart: str = ""

    @property
    def name(self) -> str:
        return f"{self.host}:{self.pid}"

    def age(self, now: float | None = None) -> float:
        return (now or time.time()) - self.at

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def heartbeat_key(host: str, pid: int) -> str:
    return f"sagas:worker-cluster:{host}:{pid}"


def _cache() -> Any:
    return caches[Conf.CACHE]


def publish(beat: ClusterHeartbeat) -> None:
    """Write this cluster's heartbeat; it expires unless written again."""
    _cache().set(heartbeat_key(beat.host, beat.pid), beat.as_dict(), HEARTBEAT_TTL_SECONDS)


def heartbeat_of(host: str, pid: int) -> ClusterHeartbeat | None:
    """The heartbeat of the cluster whose main process is `pid` on `host`, if it published one lately."""
    data = _cache().get(heartbeat_key(host, pid))
    return ClusterHeartbeat(**data) if data else None


def live_clusters() -> tuple[list[ClusterHeartbeat], int]:
    """Heartbeats of the clusters that publish one, and how many live clusters publish none (plain qcluster)."""
    stopped = {str(Conf.STOPPED), str(Conf.STOPPING)}
    beats, plain = [], 0
    for stat in Stat.get_all(broker=get_broker()):
        if str(stat.status) in stopped:
            continue
        beat = heartbeat_of(stat.host, stat.pid)
        if beat is None:
            plain += 1
        else:
            beats.append(beat)
    return sorted(beats, key=lambda beat: beat.name), plain
