"""Reading a booking's lines: which one is the main line (the account a person means when
they say "booked to 6100")."""

from domain.records import BookingLine


def main_index(lines: list[BookingLine]) -> int | None:
    """The main line: the largest on the side opposite the largest line. The counter-
    account (2000, 1100, a cash or card account) holds the gross total; the main account
    takes the biggest part of the other side, VAT lines the smaller ones."""
    if not lines:
        return None
    # On a tie (a gross booking: 6300 / 2000 of the same amount) the counter-account is
    # the balance-sheet one (class 1 or 2), not the expense or revenue.
    counter = max(
        lines, key=lambda line: (max(line.debit, line.credit), line.account[:1] in ("1", "2"))
    )
    others = [
        (max(line.debit, line.credit), -i)
        for i, line in enumerate(lines)
        if (line.debit > 0) != (counter.debit > 0)
    ]
    return -max(others)[1] if others else None


def main_account(lines: list[BookingLine]) -> str | None:
    i = main_index(lines)
    return None if i is None else lines[i].account


def main_vat_code(lines: list[BookingLine]) -> str | None:
    i = main_index(lines)
    return None if i is None else lines[i].vat_code
