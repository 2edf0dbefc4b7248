"""`make run` hands the caller's own SUARA_* settings to every process it starts (an SMTP server,
a content key…), but never lets them override what the stack itself decides."""

from __future__ import annotations

from pathlib import Path

from suara_kit.stack import Stack, passed_through


def test_the_callers_settings_pass_through_and_the_stacks_own_win(tmp_path: Path) -> None:
    caller = {"SUARA_NOTIFICATION_SMTP_URL": "smtp://mail.example:25",
              "SUARA_INTAKE_RECEIPT_MAX_FAILURES": "5", "SUARA_VAR_DIR": "/elsewhere",
              "SUARA_GATEWAY_PORT": "1", "HOME": "/home/x"}
    passed = passed_through(caller)
    assert passed == {"SUARA_NOTIFICATION_SMTP_URL": "smtp://mail.example:25",
                      "SUARA_INTAKE_RECEIPT_MAX_FAILURES": "5"}
    env = Stack(var_dir=tmp_path, gateway_port=8123, extra_env=passed).env()
    assert env["SUARA_NOTIFICATION_SMTP_URL"] == "smtp://mail.example:25"
    assert env["SUARA_VAR_DIR"] == str(tmp_path)
    assert env["SUARA_GATEWAY_PORT"] == "8123"
