"""Our MIME parser against the standard library's, in one run, on the same mails.

    .venv/bin/python bench/mime_parse.py [--docs 200] [--rounds 3]

The mails are the end-to-end benchmark's (bench/pipeline.py: one generated document per
mail, 60 % text PDFs, 25 % scans, 15 % photos; ~480 KB each). `ingest.mime.parse_mail`
(limits, defects, every leaf decoded and hashed, forwarded mails and ZIPs opened) against
the floor: `email.message_from_bytes` with `policy.compat32` plus `get_payload(decode=True)`
of every leaf — the least any parser of these mails does. CPU time of this process, the
best of `--rounds`. Ends with one line of key=value figures.
"""

import argparse
import email
import sys
import time
from email import policy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pipeline import build_mail
from bench.workload import Firm, inbox
from ingest.mime import parse_mail


def stdlib_floor(raw: bytes) -> int:
    """Parse and decode every leaf; the decoded bytes (so nothing is optimised away)."""
    message = email.message_from_bytes(raw, policy=policy.compat32)
    total = 0
    for part in message.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            total += len(payload) if isinstance(payload, bytes) else 0
    return total


def cpu_seconds(work, mails: list[bytes], rounds: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for raw in mails:
            work(raw)
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    firm = Firm.make(seed=args.seed)
    mails = [build_mail(firm, doc) for doc in inbox(firm, args.docs, seed=args.seed)]
    found = sum(len(parse_mail(raw).attachments) for raw in mails)
    assert found == len(mails), f"parse_mail found {found} documents in {len(mails)} mails"

    ours = cpu_seconds(parse_mail, mails, args.rounds)
    floor = cpu_seconds(stdlib_floor, mails, args.rounds)
    megabytes = sum(map(len, mails)) / 1e6
    per_mail_ms, floor_ms = 1000 * ours / len(mails), 1000 * floor / len(mails)
    print(
        f"{len(mails)} mails, {megabytes:.1f} MB (mean {1000 * megabytes / len(mails):.0f} KB), "
        f"best of {args.rounds}\n"
        f"  parse_mail        {per_mail_ms:6.2f} ms CPU per mail\n"
        f"  stdlib + decode   {floor_ms:6.2f} ms CPU per mail\n"
        f"  ratio             {ours / floor:6.2f}×"
    )
    print(
        f"mails={len(mails)} mean_kb={1000 * megabytes / len(mails):.0f} "
        f"parse_ms={per_mail_ms:.2f} stdlib_ms={floor_ms:.2f} ratio={ours / floor:.2f}"
    )


if __name__ == "__main__":
    main()
