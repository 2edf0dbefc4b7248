"""Case-management's append-only, hash-chained audit log of case reads and writes (invariant 6;
the chain itself is `suara_kit.audit`)."""

from __future__ import annotations

import asyncio
import sys

from suara_cases.models import AuditEntry
from suara_cases.settings import CasesSettings
from suara_kit.audit import GENESIS, AuditLog, Verdict, entry_hash

__all__ = ["GENESIS", "LOG", "Verdict", "entry_hash", "inspect", "main", "record", "verify"]

LOG = AuditLog(AuditEntry)
record = LOG.record
inspect = LOG.inspect
verify = LOG.verify


def main(argv: list[str] | None = None) -> int:
    """`python -m suara_cases.audit verify [DATABASE_URL]`: exit 0 when the chain is intact,
    1 when an entry was edited or removed (the database from SUARA_CASES_DATABASE_URL, or
    case-management's SQLite file under var/, by default)."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "verify" or len(args) > 2:
        sys.stderr.write("usage: python -m suara_cases.audit verify [DATABASE_URL]\n")
        return 2
    url = args[1] if len(args) == 2 else CasesSettings().resolved_database_url()
    return asyncio.run(LOG.check(url))


if __name__ == "__main__":
    sys.exit(main())
