"""Our Standard Webhooks signatures, checked by the independent `standardwebhooks` package: a
receiver verifies them with either secret during a rotation, and refuses a changed body, a
stale timestamp or a secret it does not hold."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from suara_notification.signing import headers, new_secret, signature

BODY = '{"data":{"case_id":"0199a3c2-7b1e-7c4d-9a8b-1c2d3e4f5a6b"},"type":"case.opened"}'
MSG = "msg_0199a3c2-7b1e-7c4d-9a8b-1c2d3e4f5a6b"


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32
    assert first != second


def test_the_independent_verifier_accepts_our_signature() -> None:
    secret, now = new_secret(), int(time.time())
    sent = headers([secret], MSG, now, BODY)
    assert sent["webhook-id"] == MSG
    assert sent["webhook-timestamp"] == str(now)
    assert sent["content-type"] == "application/json"
    assert sent["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, sent) == {
        "data": {"case_id": "0199a3c2-7b1e-7c4d-9a8b-1c2d3e4f5a6b"}, "type": "case.opened"}


def test_a_known_vector() -> None:
    # the Standard Webhooks specification's own example
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"test": 2432232314}'
    assert signature([secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")


def test_during_a_rotation_both_secrets_verify() -> None:
    old, new, now = new_secret(), new_secret(), int(time.time())
    sent = headers([new, old], MSG, now, BODY)
    assert len(sent["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(BODY, sent)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, sent)


def test_a_changed_body_or_id_fails() -> None:
    secret, now = new_secret(), int(time.time())
    sent = headers([secret], MSG, now, BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("case.opened", "case.shredded"), sent)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**sent, "webhook-id": MSG + "x"})


def test_an_old_timestamp_fails_though_correctly_signed() -> None:
    secret, then = new_secret(), int(time.time()) - 6 * 60
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, headers([secret], MSG, then, BODY))
    with pytest.raises(WebhookVerificationError):  # a fresh timestamp on the old signature
        Webhook(secret).verify(BODY, {**headers([secret], MSG, then, BODY),
                                      "webhook-timestamp": str(int(time.time()))})


def test_a_secret_without_the_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        signature(["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], MSG, 1, BODY)
