"""Schema-driven fuzzing of the sync API (schemathesis): requests generated from the server's own OpenAPI
schema, valid and invalid, sent to the real application unsigned, signed by an active PC and signed by a
PC still pending activation. No answer may be a 500, and every answer must match the schema.

The signature covers the exact bytes sent (method, path with query, body), so each generated request is
built first, then signed like app/sync/http_client.py signs, then sent. Bounded: a few dozen examples per
operation and mode, a shared county for the whole module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from starlette.testclient import TestClient

from app.server.app import ServerSettings, create_app
from app.sync.http_auth import sign_request
from app.sync.keys import KeyPair
from tests.server.conftest import Signer, credentials, sync_once
from tests.sync.sync_world import Pc, World

EXAMPLES = 12  # per operation and generation mode (positive, negative)
Signing = tuple[KeyPair, dict[str, Any] | None] | None  # keys and enrol meta; None = unsigned
UNLIMITED = 10**9  # the rate limit would answer most of a fuzz run with 429
# A schema-valid request may still be refused by what the schema cannot know: an upload larger than this
# server's limit (413, per the contract), a made-up upload id (404), an offset that is not the committed one
# (409), another PC's upload (403). Never a 400 (the schema let it through) and never a 5xx.
CONFIG = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "401", "403", "404", "409", "413", "429"]}}})
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@dataclass
class FuzzTarget:
    """The real county application over a county that has an active PC and a pending one."""

    client: TestClient
    schema: Any
    active: tuple[KeyPair, dict[str, Any]]
    pending: tuple[KeyPair, dict[str, Any]]
    known_ids: dict[str, str]  # path parameters that exist: the active PC's half-sent upload, its last return
    stage: Callable[[], None]  # (re)starts that half-sent upload (a fuzzed POST /uploads discards it)
    statuses: dict[str, list[int]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    world = World(tmp_path_factory.mktemp("fuzz"))
    try:
        active = world.township_pc()
        world.round_trip(active)  # the county has activated it and holds its rows
        pending = world.township_pc("pending", township="白水镇", code="360726200", villages=("白水村",))
        app = create_app(world.county, ServerSettings(rate_per_minute=UNLIMITED, rate_burst=UNLIMITED))
        with TestClient(app, raise_server_exceptions=False) as client:
            schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, config=CONFIG)
            yield FuzzTarget(client, schema, credentials(active), credentials(pending), *_known_ids(client, active))
    finally:
        world.close()


def _known_ids(client: TestClient, pc: Pc) -> tuple[dict[str, str], Callable[[], None]]:
    """One full round over HTTP (a return to fetch), then a new bundle half uploaded (an upload to resume);
    the ids, and how to stage that upload again."""
    signer = Signer.for_pc(client, pc)
    folder = pc.folder / "net"
    answer = sync_once(signer, pc, folder)
    pc.add_village("新华村")
    bundle = pc.export(folder).path
    uploads: list[str] = []

    def stage() -> None:
        upload = signer.start_upload(bundle)  # the same bundle: the same upload id
        if upload["committed"] == 0:
            signer.send_pieces(upload, bundle, piece=bundle.stat().st_size // 2, stop_after=1)
        uploads.append(upload["upload_id"])

    stage()
    return {"upload_id": uploads[0], "return_id": answer["return"]["return_id"]}, stage


def _body(kwargs: dict[str, Any]) -> bytes:
    """The generated body as the bytes that go on the wire (and into the signature)."""
    if "json" in kwargs:
        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data")
    if data is None:
        return b""
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, bytes):
        return data
    raise AssertionError(f"unexpected generated body {data!r}")


def send(target: FuzzTarget, case: Any, signer: Signing) -> httpx.Response:
    """Build the generated request, sign it as ``signer`` (keys, enrol meta) when given, send it."""
    kwargs = case.as_transport_kwargs()
    request = target.client.build_request(kwargs["method"], kwargs["url"], params=kwargs.get("params") or None,
                                          headers=kwargs.get("headers"), content=_body(kwargs))
    if signer is not None:
        keys, enrol = signer
        path = request.url.raw_path.decode("ascii")
        request.headers.update(sign_request(keys, request.method, path, request.content, int(time.time()), enrol))
    response = target.client.send(request)
    target.statuses.setdefault(f"{case.operation.method.upper()} {case.operation.path}", []).append(
        response.status_code)
    return response


def fuzz(target: FuzzTarget, operation: str, mode: str, signer: Signing, check: Callable[[Any, httpx.Response], None]) -> None:
    """Send generated requests for one operation (``"METHOD /path"``) in one generation mode."""
    method, path = operation.split(" ", 1)
    api_operation = target.schema[path][method]
    strategy = api_operation.as_strategy(generation_mode=GenerationMode(mode))
    known = {name: value for name, value in target.known_ids.items() if "{" + name + "}" in path}
    if known and mode == "positive":  # half the cases address what exists, not only made-up ids
        strategy = strategy | api_operation.as_strategy(path_parameters=known)
        if "upload_id" in known:
            target.stage()

    @FUZZ
    @given(case=strategy)
    def run(case: Any) -> None:
        response = send(target, case, signer)
        assert response.status_code < 500, f"{operation}: {response.status_code} {response.text}"
        case.validate_response(response)
        check(case, response)

    run()


OPERATIONS = ["GET /health", "GET /state", "POST /uploads", "PUT /uploads/{upload_id}", "GET /uploads/{upload_id}",
              "POST /uploads/{upload_id}/complete", "POST /downstream", "GET /returns/{return_id}", "POST /ack"]
WITHOUT_INPUT = {"GET /health", "GET /state", "POST /downstream"}  # nothing to make invalid
RUNS = [(op, "positive") for op in OPERATIONS] + [(op, "negative") for op in OPERATIONS if op not in WITHOUT_INPUT]
each_operation = pytest.mark.parametrize(("operation", "mode"), RUNS)


@each_operation
def test_unsigned_requests_are_refused_cleanly(target: FuzzTarget, operation: str, mode: str) -> None:
    def refused(case: Any, response: httpx.Response) -> None:
        if operation != "GET /health":
            assert response.status_code in (400, 401, 404, 405, 413), response.text
            assert response.json()["error"]["code"] in {"unauthenticated", "bad_request", "not_found",
                                                        "method_not_allowed", "too_large"}

    fuzz(target, operation, mode, None, refused)


def _authenticated(case: Any, response: httpx.Response) -> None:
    assert response.status_code != 401, response.text  # the signature is right: never "who are you"


@each_operation
def test_requests_signed_by_an_active_pc(target: FuzzTarget, operation: str, mode: str) -> None:
    fuzz(target, operation, mode, (target.active[0], None), _authenticated)


@each_operation
def test_requests_signed_by_a_pc_awaiting_activation(target: FuzzTarget, operation: str, mode: str) -> None:
    fuzz(target, operation, mode, target.pending, _authenticated)


def test_the_schema_describes_the_whole_sync_api(target: FuzzTarget) -> None:
    listed = {f"{op.ok().method.upper()} {op.ok().path}" for op in target.schema.get_all_operations()}
    assert listed == set(OPERATIONS)


def test_the_signed_fuzz_got_past_authentication(target: FuzzTarget) -> None:
    """Runs after the fuzz tests above (file order): the signed requests got real answers, not only errors."""
    if not target.statuses:
        pytest.skip("run together with the fuzz tests above")
    successes = {name for name, codes in target.statuses.items() if any(200 <= c < 300 for c in codes)}
    assert {"GET /health", "GET /state", "POST /uploads", "POST /downstream", "POST /ack"} <= successes
    reached = {name for name, codes in target.statuses.items() if any(c in (403, 409, 422) for c in codes)}
    assert {"PUT /uploads/{upload_id}", "POST /uploads/{upload_id}/complete"} <= reached  # past "not found"
