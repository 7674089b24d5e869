"""The embedded servers behind `circus up`: real child processes on free loopback ports."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import redis
from pymongo import MongoClient

from circus_api.embedded import (
    EmbeddedMongo,
    EmbeddedRedis,
    EmbeddedServerError,
    docker_engine_status,
)


def test_mongo_data_persists_across_restarts(tmp_path: Path) -> None:
    storage = tmp_path / "mongo"
    with EmbeddedMongo(storage) as mongo:
        assert mongo.url.startswith("mongodb://127.0.0.1:")
        assert mongo.url.endswith("/?directConnection=true")
        with MongoClient(mongo.url, timeoutMS=10_000) as client:
            client["circus-test"]["cases"].insert_one({"_id": "c1", "tags": ["a"]})
    assert not mongo.running

    # same directory, a fresh port: the document written by the first run is still there
    with EmbeddedMongo(storage) as again, MongoClient(again.url, timeoutMS=10_000) as client:
        assert client["circus-test"]["cases"].find_one({"_id": "c1"}) == {"_id": "c1", "tags": ["a"]}
    assert (tmp_path / "secantus.log").exists()


def test_redis_answers_ping_and_stops(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    try:
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        client = redis.Redis.from_url(server.url, socket_timeout=5)
        assert client.ping() is True
        client.close()
    finally:
        server.stop()
    assert not server.running
    server.stop()  # idempotent: a second stop is harmless


def test_refuses_a_port_another_server_listens_on(tmp_path: Path) -> None:
    # otherwise the readiness check would succeed against the other server
    with EmbeddedRedis(tmp_path / "first") as first:
        second = EmbeddedRedis(tmp_path / "second", port=first.port)
        with pytest.raises(EmbeddedServerError, match="already in use"):
            second.start()
        assert not second.running


def test_early_exit_reports_the_log_tail(tmp_path: Path) -> None:
    # a socket bound but not listening: the port looks free, yet redis-server cannot bind it and exits
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        port = blocker.getsockname()[1]
        server = EmbeddedRedis(tmp_path / "redis", port=port, log_path=tmp_path / "redis.log")
        started = time.monotonic()
        expected = r"(?s)exited with code .*redis\.log.*Address already in use"
        with pytest.raises(EmbeddedServerError, match=expected):
            server.start()
        assert time.monotonic() - started < 10
        assert not server.running


def test_docker_engine_status_never_raises() -> None:
    answers, message = docker_engine_status()
    assert isinstance(answers, bool)
    assert message.strip()
    if not answers:
        assert "wait in the queue" in message
        assert "make docker" in message
