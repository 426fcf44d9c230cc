"""The division of labour between a client and the fiduciary (DESIGN.md).

For each activity and phase: who is responsible. Defaults follow the client's mode;
overrides come from master data or `fiduflow policy set`. An offline client can never be
responsible for anything: that is refused here, with a message, not silently corrected.
"""

from collections.abc import Mapping

from pydantic import BaseModel

from domain.enums import Activity, ClientMode, DocType, Party, Phase

# What an online client takes over in regular use: the modules it works in itself
# (accounts payable with releases, expenses, reconciliation). The fiduciary keeps payroll
# and everything unusual, and sets the client up.
_ONLINE_REGULAR_CLIENT = {
    Activity.SUPPLIER_INVOICE,
    Activity.EXPENSE_RECEIPT,
    Activity.CREDIT_NOTE,
    Activity.REMINDER,
    Activity.BANK_STATEMENT,
}
# At period close the client still owes its releases of what it is responsible for.
_ONLINE_CLOSE_CLIENT = {Activity.SUPPLIER_INVOICE, Activity.EXPENSE_RECEIPT}


class PolicyError(ValueError):
    """A policy the firm cannot have; the message says what to do instead."""


def default_party(mode: ClientMode, activity: Activity, phase: Phase) -> Party:
    if mode is ClientMode.OFFLINE or phase is Phase.SETUP:
        return Party.FIDUCIARY
    chosen = _ONLINE_REGULAR_CLIENT if phase is Phase.REGULAR else _ONLINE_CLOSE_CLIENT
    return Party.CLIENT if activity in chosen else Party.FIDUCIARY


class DivisionOfLabour(BaseModel):
    mode: ClientMode
    # activity -> phase -> party; only what differs from the default is stored.
    overrides: dict[Activity, dict[Phase, Party]] = {}

    @classmethod
    def from_overrides(
        cls, mode: ClientMode, raw: Mapping[str, str | Mapping[str, str]] | None
    ) -> "DivisionOfLabour":
        overrides: dict[Activity, dict[Phase, Party]] = {}
        for activity_name, value in (raw or {}).items():
            activity = Activity(activity_name)
            if isinstance(value, str):
                overrides[activity] = {phase: Party(value) for phase in Phase}
            else:
                overrides[activity] = {Phase(p): Party(v) for p, v in value.items()}
        policy = cls(mode=mode, overrides=overrides)
        policy.check()
        return policy

    def check(self) -> None:
        if self.mode is ClientMode.OFFLINE:
            for activity, phases in self.overrides.items():
                if Party.CLIENT in phases.values():
                    raise PolicyError(
                        f"an offline client cannot be responsible for {activity.value}: "
                        "offline clients only upload documents. Make the client online first, "
                        "or leave the activity with the fiduciary."
                    )

    def responsible(self, activity: Activity, phase: Phase = Phase.REGULAR) -> Party:
        party = self.overrides.get(activity, {}).get(phase)
        if party is None:
            party = default_party(self.mode, activity, phase)
        # Belt and braces: even a stored override cannot hand work to an offline client.
        if self.mode is ClientMode.OFFLINE:
            return Party.FIDUCIARY
        return party

    def with_override(self, activity: Activity, party: Party, phases: list[Phase] | None = None):
        overrides = {a: dict(p) for a, p in self.overrides.items()}
        for phase in phases or list(Phase):
            overrides.setdefault(activity, {})[phase] = party
        policy = DivisionOfLabour(mode=self.mode, overrides=overrides)
        policy.check()
        return policy

    def to_json(self) -> dict[str, dict[str, str]]:
        return {
            a.value: {p.value: v.value for p, v in ph.items()} for a, ph in self.overrides.items()
        }

    def table(self) -> dict[Activity, dict[Phase, Party]]:
        return {a: {p: self.responsible(a, p) for p in Phase} for a in Activity}


def activity_for(doc_type: DocType) -> Activity:
    return {
        DocType.SUPPLIER_INVOICE: Activity.SUPPLIER_INVOICE,
        DocType.RECEIPT: Activity.EXPENSE_RECEIPT,
        DocType.CREDIT_NOTE: Activity.CREDIT_NOTE,
        DocType.REMINDER: Activity.REMINDER,
        DocType.BANK_STATEMENT: Activity.BANK_STATEMENT,
        DocType.PAYSLIP: Activity.PAYSLIP,
    }.get(doc_type, Activity.OTHER)
