"""Mediation's append-only, hash-chained audit log of reads and writes of case content: notes,
agreements and invitations (invariant 6; the chain itself is `suara_kit.audit`)."""

from __future__ import annotations

import asyncio
import sys

from suara_kit.audit import AuditLog
from suara_mediation.models import AuditEntry
from suara_mediation.settings import MediationSettings

LOG = AuditLog(AuditEntry)
record = LOG.record


def main(argv: list[str] | None = None) -> int:
    """`python -m suara_mediation.audit verify [DATABASE_URL]`: exit 0 when the chain is
    intact, 1 when an entry was edited or removed."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "verify" or len(args) > 2:
        sys.stderr.write("usage: python -m suara_mediation.audit verify [DATABASE_URL]\n")
        return 2
    url = args[1] if len(args) == 2 else MediationSettings().resolved_database_url()
    return asyncio.run(LOG.check(url))


if __name__ == "__main__":
    sys.exit(main())
