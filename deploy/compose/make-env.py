"""Print deploy/compose/.env.example with every empty value filled by a random secret.

    python3 deploy/compose/make-env.py > deploy/compose/.env

Each secret is 32 random bytes, URL-safe base64 (it goes into database URLs unescaped). Only
the standard library; nothing is written but stdout.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

EXAMPLE = Path(__file__).with_name(".env.example")


def filled(example: str) -> str:
    """The example with `NAME=` (nothing after the sign) given a fresh secret each."""
    lines = []
    for line in example.splitlines():
        name, sign, value = line.partition("=")
        if sign and not line.startswith("#") and not value.strip():
            line = f"{name}={secrets.token_urlsafe(32)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(filled(EXAMPLE.read_text()))
