"""A real SMTP server for tests: an aiosmtpd handler that spools what it accepts.

Run with Debian's Python (the one that has python3-aiosmtpd), this folder on PYTHONPATH:

    /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c smtp_sink.Sink SPOOL

Every accepted message becomes two files in SPOOL: <n>.eml (the raw bytes as received) and
<n>.json (the envelope: MAIL FROM, RCPT TO list). Both are written to a temporary name and renamed,
the .json last, so a reader that lists *.json never sees half a message.

SPOOL/control.json steers the replies and is re-read on every command, so a test can change it
while the server runs (a missing or unreadable file means the defaults):

    {"mode": "accept"}          250 for everything (the default)
    {"mode": "defer"}           451 4.3.0 to RCPT TO and DATA
    {"reject": ["a@x.example"]} 550 5.1.1 to RCPT TO of those addresses (any case), the rest accepted
    {"delay_ms": 3000}          wait that long before answering the end of DATA

A message is stored only once its 250 is about to be sent: if the client goes away during the
delay, aiosmtpd cancels the handler and nothing is stored, as a server that never said 250 never
took the message.
"""

import asyncio
import json
import os
import re
import sys
from datetime import datetime, timezone

CONTROL = "control.json"
DEFER = "451 4.3.0 Try again later"


class Sink:
    def __init__(self, spool):
        self.spool = os.path.abspath(spool)
        os.makedirs(self.spool, exist_ok=True)
        # Carry on after the highest number already there: a restarted server keeps the spool.
        numbers = [int(m.group(1)) for m in map(re.compile(r"^(\d+)\.json$").match, os.listdir(self.spool)) if m]
        self.count = max(numbers, default=0)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("usage: -c smtp_sink.Sink SPOOL_FOLDER")
        return cls(args[0])

    def control(self):
        try:
            with open(os.path.join(self.spool, CONTROL), encoding="utf-8") as f:
                control = json.load(f)
            return control if isinstance(control, dict) else {}
        except (OSError, ValueError):
            return {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        control = self.control()
        if control.get("mode") == "defer":
            return DEFER
        rejected = {str(a).lower() for a in control.get("reject") or []}
        if address.lower() in rejected:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        control = self.control()
        delay_ms = control.get("delay_ms") or 0
        if delay_ms > 0:
            # Cancelled by aiosmtpd if the client disconnects meanwhile: then nothing is stored.
            await asyncio.sleep(delay_ms / 1000)
            control = self.control()
        if control.get("mode") == "defer":
            return DEFER
        self.count += 1
        n = self.count
        envelope_json = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "peer": list(session.peer) if isinstance(session.peer, tuple) else str(session.peer),
            "received_at": datetime.now(timezone.utc).isoformat(),
        }
        self.write(f"{n}.eml", envelope.original_content)
        self.write(f"{n}.json", json.dumps(envelope_json, indent=2).encode("utf-8"))
        return f"250 2.0.0 Ok: queued as {n}"

    def write(self, name, data):
        tmp = os.path.join(self.spool, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.spool, name))


if __name__ == "__main__":
    sys.exit("Run through aiosmtpd: /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c smtp_sink.Sink SPOOL")
