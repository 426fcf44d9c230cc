"""Whose data a query may see. Every repository read for a user goes through a Scope.

Three circles (DESIGN.md, "Working a task" and "Rules of the house"):
- staff of the fiduciary see every client (`client_id=None`);
- a client's company users see their client's documents, tasks and bookings — payslips
  (the documents and the tasks about them) only where the client's `payroll_visible`;
- an employee sees the documents they submitted (app and web uploads under their name,
  mail from their own address) and the tasks addressed to them, nothing else of the
  company: employee access is "upload, nothing else".
What a scope does not see answers exactly like what does not exist (404). Why:
docs/decisions/0002-one-scope-for-every-read.md.
"""

from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, select, true

from domain.enums import Access, DocType
from domain.records import User
from storage.tables import BookingRow, DocumentRow, TaskRow

PAYSLIP = DocType.PAYSLIP.value


@dataclass(frozen=True)
class Scope:
    """`client_id=None` means staff of the fiduciary: every client."""

    client_id: str | None
    employee: str | None = None  # an employee's username: only their own documents
    employee_email: str | None = None  # their mail counts as their own submissions
    hide_payslips: bool = False

    @classmethod
    def of(cls, user: User) -> "Scope":
        if user.is_staff:
            return cls.staff()
        if user.access is Access.COMPANY:
            return cls(client_id=user.client_id, hide_payslips=not user.payroll_visible)
        return cls(
            client_id=user.client_id,
            employee=user.username,
            employee_email=(user.email or "").lower() or None,
            hide_payslips=True,  # their own payslip upload they see as their own document
        )

    @classmethod
    def staff(cls) -> "Scope":
        return cls(client_id=None)

    @classmethod
    def client(cls, client_id: str) -> "Scope":
        if not client_id:
            raise ValueError("a client scope needs a client id")
        return cls(client_id=client_id)

    def narrowed(self, client_id: str | None) -> "Scope":
        """Staff may narrow to one client (`?client=ID`); a client user cannot widen."""
        if client_id is None:
            return self
        if self.client_id is None:
            return Scope(client_id=client_id)
        return self  # a client user's own scope, whatever they ask for

    @property
    def sees_bookkeeping(self) -> bool:
        """Bookings are for staff and company users, never for employees."""
        return self.employee is None

    def apply(self, statement: Any, column: Any) -> Any:
        """The client filter alone (counts and lists of client-wide rows)."""
        return statement if self.client_id is None else statement.where(column == self.client_id)

    def allows(self, client_id: str) -> bool:
        return self.client_id is None or self.client_id == client_id

    # --- documents ---------------------------------------------------------------------

    def document_filter(self) -> ColumnElement[bool]:
        """A WHERE clause on DocumentRow for what this scope may see."""
        if self.client_id is None:
            return true()
        conditions = [DocumentRow.client_id == self.client_id]
        if self.employee is not None:
            conditions.append(self._own_submission())
        elif self.hide_payslips:
            conditions.append(or_(DocumentRow.doc_type.is_(None), DocumentRow.doc_type != PAYSLIP))
        return and_(*conditions)

    def _own_submission(self) -> ColumnElement[bool]:
        own = [DocumentRow.submitted_by == self.employee]
        if self.employee_email:
            # The sender is the mail's From header as written: a bare address or
            # "Name <address>".
            sender = func.lower(DocumentRow.sender)
            escaped = self.employee_email.replace("\\", "\\\\").replace("%", "\\%")
            escaped = escaped.replace("_", "\\_")
            own.append(sender == self.employee_email)
            own.append(sender.like(f"%<{escaped}>", escape="\\"))
        return or_(*own)

    def documents(self, statement: Any) -> Any:
        return statement.where(self.document_filter())

    def sees_document(self, row: DocumentRow) -> bool:
        if not self.allows(row.client_id):
            return False
        if self.employee is not None:
            sender = parseaddr(row.sender or "")[1].lower()
            return row.submitted_by == self.employee or bool(
                self.employee_email and sender == self.employee_email
            )
        return not (self.hide_payslips and row.doc_type == PAYSLIP)

    # --- tasks -------------------------------------------------------------------------

    def task_filter(self) -> ColumnElement[bool]:
        if self.client_id is None:
            return true()
        conditions = [TaskRow.client_id == self.client_id]
        if self.employee is not None:
            conditions.append(TaskRow.assignee_user == self.employee)
        elif self.hide_payslips:
            payslips = select(DocumentRow.id).where(
                DocumentRow.client_id == self.client_id, DocumentRow.doc_type == PAYSLIP
            )
            conditions.append(
                or_(TaskRow.document_id.is_(None), not_(TaskRow.document_id.in_(payslips)))
            )
        return and_(*conditions)

    def tasks(self, statement: Any) -> Any:
        return statement.where(self.task_filter())

    def sees_task(self, row: TaskRow, document: DocumentRow | None) -> bool:
        """`document` is the task's document (None when it has none)."""
        if not self.allows(row.client_id):
            return False
        if self.employee is not None:
            return row.assignee_user == self.employee
        return not (self.hide_payslips and document is not None and document.doc_type == PAYSLIP)

    # --- bookings ----------------------------------------------------------------------

    def booking_filter(self) -> ColumnElement[bool]:
        if not self.sees_bookkeeping:
            return false()
        return true() if self.client_id is None else BookingRow.client_id == self.client_id

    def sees_booking(self, row: BookingRow) -> bool:
        return self.sees_bookkeeping and self.allows(row.client_id)
