"""Supplier matching on a generated directory: precision, recall and time per match.

    .venv/bin/python bench/matching.py                       # 100 / 1k / 10k / 100k suppliers
    .venv/bin/python bench/matching.py --sizes 2000 --queries 2000
    .venv/bin/python bench/matching.py --postgres postgresql://postgres@127.0.0.1:5432/test

The directory: companies from `tests/docgen` (`random_company`: real towns and
postcodes, valid UIDs and IBANs, legal forms by language region), renamed from a surname
pool as varied as the commercial register's (docgen's few dozen surnames would make
every name word common at 100,000 suppliers, which no real directory is), plus
deliberate near-twins: the same words in another order and another legal form ("Gloor
Elektro AG" / "Elektro Gloor GmbH"), the same name with another legal form, a one-letter
neighbour ("Meier" / "Meyer"), and docgen's own same-trade-same-town names ("Elektro
Zürich AG"). The client works with 1 % of the directory.

The documents: 80 % from suppliers in the directory (half of those from the client's
own suppliers, where a client's documents mostly come from), 20 % from companies that
are not in it.
The printed name is the directory name as an invoice or an OCR'd scan shows it: exact,
other case and punctuation, the legal form translated (AG -> SA) or missing, "&" as
"und", or one OCR slip (a letter dropped, doubled or confused). The postcode of the
sender is printed on 70 %.

Two mixes are measured: *name only* (no identifier on the document: the hard part) and
*realistic* (an IBAN on 60 % — every QR-bill has one —, a UID on 40 %).

precision = right supplier / suppliers returned (a known document matched to the wrong
            supplier, or an unknown one matched to anyone, is a false match)
recall    = right supplier / documents whose supplier is in the directory
ms/match  = wall time of `match_supplier` with the SQL directory (all its queries).
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from domain.enums import ClientMode  # noqa: E402
from domain.extraction import Address, Extraction  # noqa: E402
from domain.identifiers import normalize_company_name  # noqa: E402
from domain.masterdata import AddressSpec, SupplierSpec  # noqa: E402
from routing.suppliers import match_supplier  # noqa: E402
from storage.db import Database, make_engine, normalize_url  # noqa: E402
from storage.suppliers import SqlSupplierDirectory, bulk_insert_suppliers  # noqa: E402
from storage.tables import ClientRow, ClientSupplier  # noqa: E402
from tests.docgen.catalog import TRADES  # noqa: E402
from tests.docgen.identities import random_company  # noqa: E402

TARGET_PRECISION = 0.99
TARGET_RECALL = 0.97


def _words(text: str) -> list[str]:
    return text.split()


_PRE = _words(
    "Am Bach Baum Berg Bir Bo Brun Bür Dät Ditt Eg Feh Fl Frei Gas Gl Gra Gut Hä Haf Heg Hof "
    "Hu Im Kä Kel Kn Ko Kr Lang Leu Lü Mar Mei Mo Mü Nä Nie Ob Pf Ra Rie Ro Rü Sa Schä Schm "
    "Schn Schw Sig Sp St Stu Tan Th Tr Ul Vo Wa We Wid Wi Wy Zb Zi Zü Bl Ch Du Fa Ga Ja La Pa "
    "Re Ri Tu Va Ve"
)
_MID = ["", "", "", "en", "er", "el", "in", "an", "ol", "ing", "is"]
_SUF = _words(
    "ler mann er li ner inger egger berger bühl acher wyler oth iger ig ser ster ter rich "
    "hard wald stein feld thaler haus matter lin zi gg tschi"
)


def surname_pool(rng: random.Random, size: int = 20000) -> list[str]:
    names = {p + m + s for p in _PRE for m in _MID for s in _SUF}
    pool = sorted(n for n in names if 4 <= len(n) <= 14)
    rng.shuffle(pool)
    return pool[:size]


@dataclass
class Company:
    id: str
    name: str
    postcode: str
    city: str
    street: str
    uid: str | None
    iban: str


def rename(rng: random.Random, surnames: list[str], base) -> str:  # type: ignore[no-untyped-def]
    """A register-style name for a docgen company, from the big surname pool."""
    trade = TRADES.get(base.trade)
    word = trade.words.get(base.language, trade.words["de"]) if trade else "Handel"
    form = base.legal_form if base.legal_form in ("AG", "GmbH", "SA", "Sàrl", "Sagl") else ""
    s1, s2 = rng.choice(surnames), rng.choice(surnames)
    town = base.city.split()[0]
    pattern = rng.choices(range(6), weights=(30, 25, 12, 10, 8, 15))[0]
    name = [
        f"{s1} {word}",
        f"{word} {s1}",
        f"{s1} + {s2} {word}",
        f"{s1} & {s2}",
        f"{word} {town}",
        f"{rng.choice(('Hans', 'Anna', 'Peter', 'Ruth', 'Urs', 'Marco'))} {s1} {word}",
    ][pattern]
    return f"{name} {form}".strip()


_OTHER_FORM = {"AG": "GmbH", "GmbH": "AG", "SA": "Sàrl", "Sàrl": "SA", "Sagl": "SA", "": "GmbH"}
_LETTER = {"ei": "ey", "ey": "ei", "ü": "ue", "a": "e", "i": "y", "o": "u", "e": "a"}


def twin(rng: random.Random, name: str) -> str:
    """A *different* company whose name is nearly the same."""
    words = name.split()
    form = words[-1] if words[-1] in _OTHER_FORM else ""
    core = words[:-1] if form else words
    kind = rng.randrange(3)
    if kind == 0 and len(core) >= 2:  # Gloor Elektro AG -> Elektro Gloor GmbH
        return " ".join([*core[::-1], _OTHER_FORM[form]]).strip()
    if kind == 1:  # Meier Elektro AG -> Meier Elektro GmbH
        return " ".join([*core, _OTHER_FORM[form]]).strip()
    for old, new in _LETTER.items():  # Meier -> Meyer
        if old in core[0]:
            core = [core[0].replace(old, new, 1), *core[1:]]
            break
    return " ".join([*core, form]).strip()


def directory(rng: random.Random, size: int, surnames: list[str]) -> list[Company]:
    seen: set[str] = set()
    out: list[Company] = []
    while len(out) < size:
        base = random_company(rng)
        names = [rename(rng, surnames, base)]
        if rng.random() < 0.15:
            names.append(twin(rng, names[0]))
        for name in names:
            key = name.casefold()
            if key in seen or len(out) >= size:
                continue
            seen.add(key)
            place = base if name == names[0] else random_company(rng)
            out.append(
                Company(
                    id=f"S{len(out):06d}",
                    name=name,
                    postcode=place.postcode,
                    city=place.city,
                    street=place.street_line,
                    uid=place.uid,
                    iban=place.iban,
                )
            )
    return out


_FORM_TRANSLATION = {"AG": "SA", "SA": "AG", "GmbH": "Sàrl", "Sàrl": "GmbH", "Sagl": "GmbH"}
_OCR = {"l": "1", "o": "0", "e": "c", "rn": "m", "u": "ü", "i": "l", "ü": "u", "B": "8"}


def printed(rng: random.Random, name: str) -> str:
    """The name as a document shows it (and as a reader gets it)."""
    roll = rng.random()
    words = name.split()
    if roll < 0.30:
        return name
    if roll < 0.45:
        return rng.choice((name.upper(), name.lower(), name.replace(" AG", " AG."), name + ","))
    if roll < 0.60:
        if words[-1] in _FORM_TRANSLATION:
            if rng.random() < 0.5:
                return " ".join([*words[:-1], _FORM_TRANSLATION[words[-1]]])
            return " ".join(words[:-1])
        return name
    if roll < 0.70:
        return name.replace("&", "und").replace("+", "&")
    long_words = [i for i, w in enumerate(words) if len(w) >= 5]
    if not long_words:
        return name
    i = rng.choice(long_words)
    w = words[i]
    slip = rng.randrange(3)
    pos = rng.randrange(1, len(w) - 1)
    if slip == 0:
        w = w[:pos] + w[pos + 1 :]  # a letter dropped
    elif slip == 1:
        w = w[:pos] + w[pos] + w[pos:]  # a letter doubled
    else:
        for old, new in _OCR.items():
            if old in w[1:]:
                w = w[0] + w[1:].replace(old, new, 1)
                break
    words[i] = w
    return " ".join(words)


@dataclass
class Query:
    extraction: Extraction
    truth: str | None  # supplier id, None when not in the directory


def queries(
    rng: random.Random,
    own: list[Company],
    known: list[Company],
    unknown: list[Company],
    n: int,
    identifiers: bool,
) -> list[Query]:
    out = []
    for _ in range(n):
        is_known = rng.random() < 0.8
        # A client's documents come from its own suppliers mostly; half of them here.
        pool = (own if rng.random() < 0.5 else known) if is_known else unknown
        company = rng.choice(pool)
        address = (
            Address(postcode=company.postcode, city=company.city) if rng.random() < 0.7 else None
        )
        extraction = Extraction(
            supplier_name=printed(rng, company.name),
            supplier_address=address,
            supplier_iban=company.iban if identifiers and rng.random() < 0.6 else None,
            supplier_uid=company.uid if identifiers and rng.random() < 0.4 else None,
        )
        out.append(Query(extraction, company.id if is_known else None))
    return out


def open_database(postgres: str | None, workdir: Path) -> tuple[Database, object]:
    if postgres is None:
        db = Database(f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}")
        db.migrate()
        return db, None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(normalize_url(postgres))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(postgres, schema=schema)
    db.migrate()
    return db, (admin, schema)


def drop(handle: object) -> None:
    if handle is None:
        return
    admin, schema = handle  # type: ignore[misc]
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def run_size(size: int, args: argparse.Namespace, workdir: Path) -> dict:
    rng = random.Random(args.seed + size)
    surnames = surname_pool(rng)
    started = time.perf_counter()
    companies = directory(rng, size, surnames)
    # An outsider whose name equals a supplier's once the legal form is gone (a document
    # may not print it) is that supplier for any reader; such are not "unknown".
    taken = {normalize_company_name(c.name) for c in companies}
    outsiders = [
        c
        for c in directory(random.Random(args.seed + 1), 3000, surnames)
        if normalize_company_name(c.name) not in taken
    ]
    outsiders = [replace(c, id=f"X{c.id}") for c in outsiders]
    db, handle = open_database(args.postgres, workdir)
    try:
        with db.session() as session:
            session.add(ClientRow(id="C1", name="Bench Client AG", mode=ClientMode.ONLINE.value))
            session.flush()
            bulk_insert_suppliers(
                session,
                (
                    SupplierSpec(
                        id=c.id,
                        name=c.name,
                        uid=c.uid,
                        iban=c.iban,
                        address=AddressSpec(street=c.street, postcode=c.postcode, city=c.city),
                    )
                    for c in companies
                ),
            )
            own = rng.sample(companies, max(20, size // 100))
            for c in own:
                session.add(ClientSupplier(client_id="C1", supplier_id=c.id))
        if args.postgres:
            with db.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        built = time.perf_counter() - started
        result = {"size": size, "build_s": built}
        for mix, identifiers in (("name", False), ("real", True)):
            qs = queries(
                random.Random(args.seed * 7 + size),
                own,
                companies,
                outsiders,
                args.queries,
                identifiers,
            )
            result[mix] = measure(db, qs)
        return result
    finally:
        db.dispose()
        drop(handle)


def measure(db: Database, qs: list[Query]) -> dict:
    right = wrong = known = 0
    times: list[float] = []
    cpu: list[float] = []
    misses: list[tuple[str, str | None]] = []
    with db.session() as session:
        directory = SqlSupplierDirectory(session, "C1")
        for q in qs[:20]:  # warm the caches
            match_supplier(q.extraction, directory)
        for q in qs:
            t0, c0 = time.perf_counter(), time.process_time()
            found = match_supplier(q.extraction, directory).match.supplier_id
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            known += q.truth is not None
            if found is None:
                if q.truth is not None:
                    misses.append((q.extraction.supplier_name or "", None))
                continue
            if found == q.truth:
                right += 1
            else:
                wrong += 1
                misses.append((q.extraction.supplier_name or "", found))
    returned = right + wrong
    times.sort()
    return {
        "precision": right / returned if returned else 1.0,
        "recall": right / known if known else 1.0,
        "wrong": wrong,
        "ms_mean": statistics.fmean(times),
        # CPU time of this process: the work itself, unaffected by other load on the machine
        "cpu_ms": statistics.fmean(cpu),
        "ms_p95": times[int(len(times) * 0.95) - 1],
        "misses": misses[:8],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL (default: SQLite file)")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"supplier matching, {args.queries} documents per size and mix, {backend}")
    columns = ("suppliers", 9), ("mix", 4), ("precision", 9), ("recall", 7), ("wrong", 5)
    columns += ("ms/match", 8), ("p95 ms", 7), ("cpu ms", 6), ("build s", 7)
    print(" ".join(f"{name:>{width}}" for name, width in columns))
    results = []
    with tempfile.TemporaryDirectory(prefix="fiduflow-bench-") as tmp:
        for size in sizes:
            result = run_size(size, args, Path(tmp))
            results.append(result)
            for mix in ("name", "real"):
                r = result[mix]
                print(
                    f"{size:>9} {mix:>4} {r['precision']:>9.2%} {r['recall']:>7.2%} "
                    f"{r['wrong']:>5} {r['ms_mean']:>8.2f} {r['ms_p95']:>7.2f} "
                    f"{r['cpu_ms']:>6.2f} {result['build_s']:>7.1f}"
                )
                if args.show_misses:
                    for name, found in r["misses"]:
                        print(f"{'':>15} miss: {name!r} -> {found}")
            sys.stdout.flush()
    ok = all(
        r[m]["precision"] >= TARGET_PRECISION and r[m]["recall"] >= TARGET_RECALL
        for r in results
        for m in ("name", "real")
    )
    figures = " ".join(
        f"ms@{r['size']}={r['name']['ms_mean']:.2f}/cpu{r['name']['cpu_ms']:.2f}" for r in results
    )
    print(
        f"targets precision>={TARGET_PRECISION:.0%} recall>={TARGET_RECALL:.0%}: "
        f"{'met' if ok else 'NOT met'}; {figures}"
    )


if __name__ == "__main__":
    main()
