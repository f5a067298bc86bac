"""Smoke test of the Python client that openapi-python-client generates from
openapi/openapi.json (tests/contract/run.sh generates it as `podium_client` and runs this
with it on the path, against a live server holding the demo data).

It uses only the generated client: sign in, post a JSON sale batch (and post it again,
which must be reported as duplicates), list challenges, read standings, read the news.
Any unexpected status or answer raises, so the gate fails loudly.

Usage: python smoke.py BASE_URL ADMIN_PASSWORD
"""

from __future__ import annotations

import sys
import uuid
from datetime import datetime, timezone

from podium_client import AuthenticatedClient, Client
from podium_client.api.auth import issue_token, me
from podium_client.api.challenges import list_challenges
from podium_client.api.news import list_news
from podium_client.api.participants import list_participants
from podium_client.api.sales import record_sales
from podium_client.api.standings import list_standings
from podium_client.models import SaleBatch, SalesReceipt, StandingsPage, TokenResponse

DEMO_PASSWORD = "podium-demo-2026"  # src/demo.rs DEMO_PASSWORD


class SmokeFailure(AssertionError):
    pass


def check(condition: object, what: str) -> None:
    if not condition:
        raise SmokeFailure(what)


def expect(response, status: int, model: type, what: str):
    """The parsed answer of `response`, which must have `status` and parse as `model`."""
    code = int(response.status_code)
    if code != status:
        body = response.content.decode("utf-8", "replace")[:500]
        raise SmokeFailure(f"{what}: expected HTTP {status}, got {code}: {body}")
    parsed = response.parsed
    if not isinstance(parsed, model):
        raise SmokeFailure(
            f"{what}: expected a {model.__name__}, the client parsed {type(parsed).__name__}"
        )
    return parsed


def sign_in(base_url: str, email: str, password: str) -> AuthenticatedClient:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True, timeout=10.0)
    # The request body's model depends on how the document spells the grant union, so
    # it is built from the wire form through the generated module's own body type.
    body_type = issue_token._get_kwargs.__annotations__.get("body")  # noqa: SLF001
    grant = {"grant_type": "password", "email": email, "password": password}
    body = _body_from_dict(body_type, grant)
    token = expect(
        issue_token.sync_detailed(client=anonymous, body=body), 200, TokenResponse, f"sign in as {email}"
    )
    check(token.token_type == "Bearer", f"token_type is {token.token_type!r}, not 'Bearer'")
    check(token.expires_in > 0, f"expires_in is {token.expires_in}")
    check(token.access_token.count(".") == 2, "access_token is not a JWT")
    return AuthenticatedClient(
        base_url=base_url, token=token.access_token, raise_on_unexpected_status=True, timeout=10.0
    )


def _body_from_dict(body_type, wire: dict):
    """An instance of the generated request model (or of the union member) for `wire`."""
    import podium_client.models as models

    candidates = []
    if isinstance(body_type, str):
        # `from __future__ import annotations` in generated code: names as strings.
        for name in body_type.replace(" ", "").split("|"):
            if hasattr(models, name):
                candidates.append(getattr(models, name))
    elif body_type is not None:
        candidates = list(getattr(body_type, "__args__", [body_type]))
    errors = []
    for model in candidates:
        try:
            body = model.from_dict(dict(wire))
        except (KeyError, TypeError, ValueError) as error:
            errors.append(f"{getattr(model, '__name__', model)}: {error!r}")
            continue
        if body.to_dict() == wire:
            return body
        errors.append(f"{model.__name__} sends {body.to_dict()!r}")
    raise SmokeFailure(f"no generated model sends the grant {wire!r}: {errors}")


def main(base_url: str, admin_password: str) -> None:
    admin = sign_in(base_url, "admin@podium.local", admin_password)
    julie = sign_in(base_url, "julie.moreau@podium.local", DEMO_PASSWORD)

    who = me.sync_detailed(client=julie).parsed
    check(who is not None and who.participant_id, f"/me of a participant has no participant_id: {who!r}")
    julie_id = str(who.participant_id)

    participants = list_participants.sync_detailed(client=admin, limit=200).parsed
    check(participants is not None and participants.total >= 9, "the demo's participants are missing")
    check(any(str(p.id) == julie_id for p in participants.items), "Julie is not among the participants")

    challenges = list_challenges.sync_detailed(client=admin, limit=50).parsed
    check(challenges is not None, "list_challenges parsed nothing")
    by_name = {c.name: c for c in challenges.items}
    check(
        "Spring revenue challenge" in by_name,
        f"the demo's revenue challenge is missing: {sorted(by_name)}",
    )
    spring = by_name["Spring revenue challenge"]
    check(str(spring.status) in ("running", "Status.RUNNING") or getattr(spring.status, "value", None) == "running",
          f"the revenue challenge is {spring.status!r}, not running")

    before = expect(
        list_standings.sync_detailed(spring.id, client=admin, limit=200), 200, StandingsPage, "standings"
    )
    check(before.total == len(before.items), f"standings total {before.total} != {len(before.items)} lines")
    line = next((l for l in before.items if str(l.entrant.id) == julie_id), None)
    check(line is not None, "Julie has no standings line")
    raw_before = float(line.raw_value)

    run = uuid.uuid4().hex[:12]
    # In the form the generated model writes a datetime back (`+00:00`), so that the
    # round trip through SaleBatch can be compared as is.
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    wire = {
        "sales": [
            {
                "participant_id": julie_id,
                "sold_at": now,
                "product_sku": "ESP-200",
                "customer_reference": "C-001",
                "quantity": 2,
                "amount_cents": 84_000,
                "currency": "EUR",
                "source": "contract-smoke",
                "external_id": f"{run}-1",
            },
            {
                "participant_id": julie_id,
                "sold_at": now,
                "product_sku": "CAP-ARABICA",
                "customer_reference": "C-002",
                "quantity": 5,
                "amount_cents": 19_500,
                "currency": "EUR",
                "source": "contract-smoke",
                "external_id": f"{run}-2",
            },
        ]
    }
    batch = SaleBatch.from_dict(wire)
    check(batch.to_dict() == wire, f"the generated SaleBatch does not send the batch as given: {batch.to_dict()!r}")
    receipt = expect(record_sales.sync_detailed(client=admin, body=batch), 201, SalesReceipt, "post sales")
    check((receipt.received, receipt.recorded, list(receipt.duplicates)) == (2, 2, []), f"receipt {receipt!r}")
    again = expect(record_sales.sync_detailed(client=admin, body=batch), 200, SalesReceipt, "post sales again")
    check((again.received, again.recorded, list(again.duplicates)) == (2, 0, [0, 1]), f"replay receipt {again!r}")

    after = expect(
        list_standings.sync_detailed(spring.id, client=admin, limit=200), 200, StandingsPage, "standings after"
    )
    line = next((l for l in after.items if str(l.entrant.id) == julie_id), None)
    check(line is not None, "Julie has no standings line after the sale")
    check(
        abs(float(line.raw_value) - (raw_before + 1035.0)) < 0.01 or abs(float(line.raw_value) - (raw_before + 103_500)) < 0.5,
        f"Julie's raw value went from {raw_before} to {line.raw_value}, not up by 1,035.00 EUR",
    )

    mine = expect(
        list_standings.sync_detailed(spring.id, client=julie), 200, StandingsPage, "standings as Julie"
    )
    check(any(str(l.entrant.id) == julie_id for l in mine.items), "Julie does not see her own line")

    news = list_news.sync_detailed(client=admin, limit=50).parsed
    check(news is not None, "list_news parsed nothing")
    check(news.total >= len(news.items), f"news total {news.total} < {len(news.items)} items")
    for item in news.items:
        check(item.message, f"news {item.id} has no message")
    ids = [item.id for item in news.items]
    print(
        f"smoke: ok: signed in, recorded 2 sale lines (replay: 2 duplicates), "
        f"{challenges.total} challenges, {after.total} standings lines, {news.total} news ({len(ids)} read)"
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: smoke.py BASE_URL ADMIN_PASSWORD")
    try:
        main(sys.argv[1], sys.argv[2])
    except SmokeFailure as failure:
        print(f"smoke: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
