"""camt.053 files written for tests: the entries a test needs, in either schema version
(`.001.04`: `Cdtr/Nm`; `.001.08`: `Cdtr/Pty/Nm`, Swiss Payment Standards 2.0)."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape


@dataclass
class Tx:
    amount: Decimal  # signed: negative = debit
    name: str | None = None
    iban: str | None = None
    reference: str | None = None  # QRR (27 digits) or SCOR (RF…)
    text: str | None = None
    ref: str | None = None  # the transaction's AcctSvcrRef


@dataclass
class Entry:
    on: date
    txs: list[Tx]
    ref: str | None = None  # AcctSvcrRef: the bank's key for the entry
    info: str | None = None  # AddtlNtryInf
    status: str = "BOOK"

    @property
    def amount(self) -> Decimal:
        return sum((t.amount for t in self.txs), Decimal(0))


@dataclass
class Camt:
    account: str
    entries: list[Entry] = field(default_factory=list)
    opening: Decimal = Decimal("10000.00")
    closing: Decimal | None = None  # default: opening + booked entries
    version: int = 8
    currency: str = "CHF"
    statement_id: str = "STMT-1"

    def xml(self) -> bytes:
        booked = sum((e.amount for e in self.entries if e.status == "BOOK"), Decimal(0))
        closing = self.closing if self.closing is not None else self.opening + booked
        first = min((e.on for e in self.entries), default=date(2026, 1, 1))
        last = max((e.on for e in self.entries), default=date(2026, 1, 31))
        entries = "".join(self._entry(e) for e in self.entries)
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.0{self.version}">
<BkToCstmrStmt>
<GrpHdr><MsgId>MSG-{self.statement_id}</MsgId><CreDtTm>{last}T22:00:00</CreDtTm></GrpHdr>
<Stmt>
<Id>{self.statement_id}</Id><CreDtTm>{last}T22:00:00</CreDtTm>
<FrToDt><FrDtTm>{first}T00:00:00</FrDtTm><ToDtTm>{last}T23:59:59</ToDtTm></FrToDt>
<Acct><Id><IBAN>{self.account}</IBAN></Id><Ccy>{self.currency}</Ccy></Acct>
{self._balance("OPBD", self.opening, first)}
{self._balance("CLBD", closing, last)}
{entries}
</Stmt>
</BkToCstmrStmt>
</Document>
""".encode()

    def _balance(self, code: str, amount: Decimal, on: date) -> str:
        side = "CRDT" if amount >= 0 else "DBIT"
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="{self.currency}">{abs(amount):.2f}</Amt><CdtDbtInd>{side}</CdtDbtInd>'
            f"<Dt><Dt>{on}</Dt></Dt></Bal>"
        )

    def _entry(self, entry: Entry) -> str:
        amount = entry.amount
        side = "CRDT" if amount > 0 else "DBIT"
        status = (
            f"<Sts><Cd>{entry.status}</Cd></Sts>"
            if self.version >= 7
            else f"<Sts>{entry.status}</Sts>"
        )
        batch = f"<Btch><NbOfTxs>{len(entry.txs)}</NbOfTxs></Btch>" if len(entry.txs) > 1 else ""
        ref = f"<AcctSvcrRef>{entry.ref}</AcctSvcrRef>" if entry.ref else ""
        info = f"<AddtlNtryInf>{escape(entry.info)}</AddtlNtryInf>" if entry.info else ""
        details = "".join(self._tx(t) for t in entry.txs)
        return (
            f'<Ntry><Amt Ccy="{self.currency}">{abs(amount):.2f}</Amt><CdtDbtInd>{side}</CdtDbtInd>'
            f"<RvslInd>false</RvslInd>{status}<BookgDt><Dt>{entry.on}</Dt></BookgDt>"
            f"<ValDt><Dt>{entry.on}</Dt></ValDt>{ref}"
            f"<NtryDtls>{batch}{details}</NtryDtls>{info}</Ntry>"
        )

    def _tx(self, tx: Tx) -> str:
        side = "CRDT" if tx.amount > 0 else "DBIT"
        role = "Dbtr" if tx.amount > 0 else "Cdtr"
        name = ""
        if tx.name:
            inner = f"<Nm>{escape(tx.name)}</Nm>"
            name = f"<{role}>{f'<Pty>{inner}</Pty>' if self.version >= 7 else inner}</{role}>"
        iban = f"<{role}Acct><Id><IBAN>{tx.iban}</IBAN></Id></{role}Acct>" if tx.iban else ""
        parties = f"<RltdPties>{name}{iban}</RltdPties>" if name or iban else ""
        remittance = ""
        if tx.text or tx.reference:
            text = f"<Ustrd>{escape(tx.text)}</Ustrd>" if tx.text else ""
            structured = ""
            if tx.reference:
                kind = "<Prtry>QRR</Prtry>" if tx.reference.isdigit() else "<Cd>SCOR</Cd>"
                structured = (
                    f"<Strd><CdtrRefInf><Tp><CdOrPrtry>{kind}</CdOrPrtry></Tp>"
                    f"<Ref>{tx.reference}</Ref></CdtrRefInf></Strd>"
                )
            remittance = f"<RmtInf>{text}{structured}</RmtInf>"
        refs = f"<Refs><AcctSvcrRef>{tx.ref}</AcctSvcrRef></Refs>" if tx.ref else ""
        return (
            f'<TxDtls>{refs}<Amt Ccy="{self.currency}">{abs(tx.amount):.2f}</Amt>'
            f"<CdtDbtInd>{side}</CdtDbtInd>{parties}{remittance}</TxDtls>"
        )
