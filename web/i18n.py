"""Every label and message of the workspace pages in German, French, Italian and English.

The user's `language`, else their client's, else German (DESIGN.md, "Working a task").
One dictionary, key → (de, fr, it, en): a missing translation is a test failure
(tests/test_workspace_pages.py checks every key has all four), never an English word
slipped into a French page.
"""

from enum import StrEnum
from typing import Any


class Lang(StrEnum):
    DE = "de"
    FR = "fr"
    IT = "it"
    EN = "en"


DEFAULT = Lang.DE
_INDEX = {Lang.DE: 0, Lang.FR: 1, Lang.IT: 2, Lang.EN: 3}

T: dict[str, tuple[str, str, str, str]] = {
    # --- frame ---
    "nav.tasks": ("Aufgaben", "Tâches", "Attività", "Tasks"),
    "nav.upload": ("Belege hochladen", "Téléverser", "Caricare documenti", "Upload"),
    "nav.logout": ("Abmelden", "Se déconnecter", "Esci", "Log out"),
    "nav.fiduciary": ("Treuhand", "Fiduciaire", "Fiduciaria", "Fiduciary"),
    "footer": (
        "Belege sicher übermittelt und archiviert",
        "Justificatifs transmis et archivés en toute sécurité",
        "Documenti trasmessi e archiviati in modo sicuro",
        "Documents delivered and archived securely",
    ),
    # --- inbox ---
    "inbox.title": ("Aufgaben", "Tâches", "Attività", "Tasks"),
    "inbox.lead.staff": (
        "Was die Maschine nicht entscheiden konnte – für alle Kunden.",
        "Ce que la machine n'a pas pu décider – pour tous les clients.",
        "Ciò che la macchina non ha potuto decidere – per tutti i clienti.",
        "What the machine could not decide – for every client.",
    ),
    "inbox.lead.client": (
        "Rechnungen freigeben, Spesen genehmigen, Fragen beantworten.",
        "Libérer des factures, approuver des frais, répondre aux questions.",
        "Approvare fatture e spese, rispondere alle domande.",
        "Release invoices, approve expenses, answer questions.",
    ),
    "inbox.count": ("{count} Aufgaben", "{count} tâches", "{count} attività", "{count} tasks"),
    "inbox.empty": (
        "Keine Aufgaben für diese Auswahl – alles erledigt.",
        "Aucune tâche pour cette sélection – tout est fait.",
        "Nessuna attività per questa selezione – tutto fatto.",
        "No tasks for this selection – all done.",
    ),
    "inbox.per_client": (
        "Offen pro Kunde",
        "Ouvertes par client",
        "Aperte per cliente",
        "Open per client",
    ),
    "inbox.release_selected": (
        "Ausgewählte freigeben",
        "Libérer la sélection",
        "Approva selezionate",
        "Release selected",
    ),
    "inbox.select_all": ("Alle auswählen", "Tout sélectionner", "Seleziona tutto", "Select all"),
    "inbox.keys": (
        "Tastatur: j/k auswählen · Enter öffnen · x markieren",
        "Clavier : j/k choisir · Entrée ouvrir · x cocher",
        "Tastiera: j/k scegliere · Invio aprire · x segnare",
        "Keyboard: j/k select · Enter open · x mark",
    ),
    "inbox.results": (
        "Ergebnis der Freigabe",
        "Résultat de la libération",
        "Esito dell'approvazione",
        "Release results",
    ),
    "inbox.nothing_selected": (
        "Bitte wählen Sie mindestens eine Aufgabe aus.",
        "Veuillez choisir au moins une tâche.",
        "Selezionare almeno un'attività.",
        "Please select at least one task.",
    ),
    "filter.client": ("Kunde", "Client", "Cliente", "Client"),
    "filter.all_clients": ("Alle Kunden", "Tous les clients", "Tutti i clienti", "All clients"),
    "filter.kind": ("Art", "Type", "Tipo", "Kind"),
    "filter.all_kinds": ("Alle Arten", "Tous les types", "Tutti i tipi", "All kinds"),
    "filter.assignee": ("Zuständig", "Responsable", "Responsabile", "Assignee"),
    "filter.anyone": ("Alle", "Tous", "Tutti", "Anyone"),
    "filter.due_before": ("Fällig vor", "Échéance avant", "Scadenza prima del", "Due before"),
    "filter.status": ("Status", "Statut", "Stato", "Status"),
    "filter.apply": ("Filtern", "Filtrer", "Filtra", "Filter"),
    "filter.reset": ("Zurücksetzen", "Réinitialiser", "Azzera", "Reset"),
    "status.open": ("Offen", "Ouverte", "Aperta", "Open"),
    "status.done": ("Erledigt", "Terminée", "Completata", "Done"),
    "status.all": ("Alle", "Toutes", "Tutte", "All"),
    "party.client": ("Kunde", "Client", "Cliente", "Client"),
    "party.fiduciary": ("Treuhand", "Fiduciaire", "Fiduciaria", "Fiduciary"),
    "col.task": ("Aufgabe", "Tâche", "Attività", "Task"),
    "col.document": ("Beleg", "Justificatif", "Documento", "Document"),
    "col.client": ("Kunde", "Client", "Cliente", "Client"),
    "col.due": ("Fällig", "Échéance", "Scadenza", "Due"),
    "col.reason": ("Grund", "Motif", "Motivo", "Reason"),
    "col.status": ("Status", "Statut", "Stato", "Status"),
    "due.overdue": ("überfällig", "en retard", "scaduta", "overdue"),
    "due.none": ("ohne Termin", "sans échéance", "senza scadenza", "no due date"),
    "page.of": (
        "Seite {page} von {pages}",
        "Page {page} sur {pages}",
        "Pagina {page} di {pages}",
        "Page {page} of {pages}",
    ),
    "page.prev": ("Zurück", "Précédent", "Indietro", "Previous"),
    "page.next": ("Weiter", "Suivant", "Avanti", "Next"),
    # --- task kinds ---
    "kind.release_invoice": (
        "Rechnung freigeben",
        "Libérer la facture",
        "Approvare fattura",
        "Release invoice",
    ),
    "kind.approve_expense": (
        "Spesen genehmigen",
        "Approuver les frais",
        "Approvare spesa",
        "Approve expense",
    ),
    "kind.review_document": (
        "Beleg prüfen",
        "Vérifier le justificatif",
        "Verificare documento",
        "Review document",
    ),
    "kind.confirm_supplier": (
        "Lieferant bestätigen",
        "Confirmer le fournisseur",
        "Confermare fornitore",
        "Confirm supplier",
    ),
    "kind.mismatched_recipient": (
        "Falscher Empfänger",
        "Mauvais destinataire",
        "Destinatario errato",
        "Wrong recipient",
    ),
    "kind.suspected_duplicate": (
        "Mögliches Duplikat",
        "Doublon possible",
        "Possibile duplicato",
        "Possible duplicate",
    ),
    "kind.missing_document": (
        "Fehlender Beleg",
        "Justificatif manquant",
        "Documento mancante",
        "Missing document",
    ),
    "kind.unreadable": ("Unleserlich", "Illisible", "Illeggibile", "Unreadable"),
    "kind.mail_without_document": (
        "E-Mail ohne Beleg",
        "E-mail sans justificatif",
        "E-mail senza documento",
        "Mail without document",
    ),
    "kind.ask_client": (
        "Rückfrage",
        "Question au client",
        "Domanda al cliente",
        "Question for the client",
    ),
    "kind.processing_failed": (
        "Verarbeitung fehlgeschlagen",
        "Traitement échoué",
        "Elaborazione fallita",
        "Processing failed",
    ),
    "kind.period_close": (
        "Periodenabschluss",
        "Clôture de période",
        "Chiusura periodo",
        "Period close",
    ),
    "kind.reminder_received": (
        "Mahnung erhalten",
        "Rappel reçu",
        "Sollecito ricevuto",
        "Reminder received",
    ),
    "kind.bank_details": (
        "Bankverbindung prüfen",
        "Vérifier les coordonnées bancaires",
        "Verificare coordinate bancarie",
        "Verify bank details",
    ),
    "kind.reconcile_entry": (
        "Zahlung zuordnen",
        "Rapprocher le paiement",
        "Riconciliare pagamento",
        "Reconcile entry",
    ),
    # --- outcomes ---
    "outcome.released": ("freigegeben", "libérée", "approvata", "released"),
    "outcome.posted": ("verbucht", "comptabilisée", "registrata", "posted"),
    "outcome.rejected": ("abgelehnt", "refusée", "rifiutata", "rejected"),
    "outcome.done": ("erledigt", "terminée", "completata", "done"),
    # --- booking states ---
    "booking.draft": ("Entwurf", "brouillon", "bozza", "draft"),
    "booking.posted": ("verbucht", "comptabilisée", "registrata", "posted"),
    "booking.reversed": ("storniert", "extournée", "stornata", "reversed"),
    "booking.discarded": ("verworfen", "écartée", "scartata", "discarded"),
    "hist.done": ("erledigt", "terminé", "completato", "done"),
    # --- field sources ---
    "source.qr": ("QR-Rechnung", "QR-facture", "QR-fattura", "QR-bill"),
    "source.xml": ("E-Rechnung", "E-facture", "E-fattura", "e-invoice"),
    "source.text_layer": ("Textebene", "Couche texte", "Livello di testo", "text layer"),
    "source.ocr": ("Texterkennung", "OCR", "OCR", "OCR"),
    "source.corrected": ("korrigiert", "corrigé", "corretto", "corrected"),
    # --- fields ---
    "field.supplier_id": ("Lieferant", "Fournisseur", "Fornitore", "Supplier"),
    "field.supplier_name": (
        "Lieferant (gedruckt)",
        "Fournisseur (imprimé)",
        "Fornitore (stampato)",
        "Supplier (printed)",
    ),
    "field.supplier_uid": ("UID", "IDE", "IDI", "UID"),
    "field.supplier_iban": ("IBAN", "IBAN", "IBAN", "IBAN"),
    "field.invoice_number": (
        "Rechnungsnummer",
        "Numéro de facture",
        "Numero fattura",
        "Invoice number",
    ),
    "field.issue_date": ("Rechnungsdatum", "Date de facture", "Data fattura", "Issue date"),
    "field.due_date": ("Fällig am", "Échéance", "Scadenza", "Due date"),
    "field.currency": ("Währung", "Monnaie", "Valuta", "Currency"),
    "field.total": ("Total", "Total", "Totale", "Total"),
    "field.vat": ("MWST", "TVA", "IVA", "VAT"),
    "field.reference": ("Referenz", "Référence", "Riferimento", "Reference"),
    "field.payment_method": (
        "Zahlungsart",
        "Mode de paiement",
        "Modalità di pagamento",
        "Payment method",
    ),
    "field.account": ("Konto", "Compte", "Conto", "Account"),
    "field.vat_code": ("MWST-Code", "Code TVA", "Codice IVA", "VAT code"),
    "field.debit": ("Soll", "Débit", "Dare", "Debit"),
    "field.credit": ("Haben", "Crédit", "Avere", "Credit"),
    "field.text": ("Text", "Texte", "Testo", "Text"),
    "pm.company_card": ("Firmenkarte", "Carte d'entreprise", "Carta aziendale", "Company card"),
    "pm.debit_card": ("Debitkarte", "Carte de débit", "Carta di debito", "Debit card"),
    "pm.cash": ("Bar", "Espèces", "Contanti", "Cash"),
    "pm.invoice_to_pay": (
        "Rechnung zu bezahlen",
        "Facture à payer",
        "Fattura da pagare",
        "Invoice to pay",
    ),
    "pm.customer_invoice": (
        "Ausgangsrechnung",
        "Facture client",
        "Fattura cliente",
        "Customer invoice",
    ),
    "pm.employee_expense": (
        "Mitarbeiterspesen",
        "Frais d'employé",
        "Spese dipendente",
        "Employee expense",
    ),
    "pm.private": ("Privat", "Privé", "Privato", "Private"),
    "pm.none": ("– nicht gesetzt –", "– non défini –", "– non impostato –", "– not set –"),
    # --- task page ---
    "task.title": ("Aufgabe {id}", "Tâche {id}", "Attività {id}", "Task {id}"),
    "task.original": ("Original", "Original", "Originale", "Original"),
    "task.no_pages": (
        "Für diesen Beleg gibt es keine Seitenansicht (E-Rechnung oder unlesbare Datei).",
        "Pas d'aperçu pour ce justificatif (e-facture ou fichier illisible).",
        "Nessuna anteprima per questo documento (e-fattura o file illeggibile).",
        "No page view for this document (e-invoice or unreadable file).",
    ),
    "task.no_document": (
        "Diese Aufgabe hat keinen Beleg.",
        "Cette tâche n'a pas de justificatif.",
        "Questa attività non ha documento.",
        "This task has no document.",
    ),
    "task.download": (
        "Original herunterladen",
        "Télécharger l'original",
        "Scarica l'originale",
        "Download the original",
    ),
    "task.fields": ("Gelesene Felder", "Champs lus", "Campi letti", "Fields read"),
    "task.confidence": ("Sicherheit", "Fiabilité", "Affidabilità", "Confidence"),
    "task.source": ("Quelle", "Source", "Fonte", "Source"),
    "task.booking": (
        "Buchungsvorschlag",
        "Proposition d'écriture",
        "Proposta di registrazione",
        "Proposed booking",
    ),
    "task.booking_status": (
        "Buchung {id}: {status}",
        "Écriture {id} : {status}",
        "Registrazione {id}: {status}",
        "Booking {id}: {status}",
    ),
    "task.corrected_by": (
        "korrigiert von {by}",
        "corrigée par {by}",
        "corretta da {by}",
        "corrected by {by}",
    ),
    "task.why": (
        "Warum eine Person gefragt ist",
        "Pourquoi une personne est sollicitée",
        "Perché serve una persona",
        "Why a person is asked",
    ),
    "task.history": ("Verlauf", "Historique", "Cronologia", "History"),
    "task.history_empty": (
        "Noch keine Einträge.",
        "Aucune entrée.",
        "Nessuna voce.",
        "Nothing yet.",
    ),
    "task.done_by": (
        "Erledigt ({outcome}) von {by} am {at}.",
        "Terminée ({outcome}) par {by} le {at}.",
        "Completata ({outcome}) da {by} il {at}.",
        "Done ({outcome}) by {by} on {at}.",
    ),
    "task.read_only": (
        "Sie können diese Aufgabe ansehen, aber nicht bearbeiten.",
        "Vous pouvez consulter cette tâche, mais pas la traiter.",
        "Può vedere questa attività, ma non elaborarla.",
        "You can view this task but not act on it.",
    ),
    "task.back": ("Zur Übersicht", "Retour à la liste", "Torna all'elenco", "Back to the inbox"),
    "task.prev": ("Vorherige", "Précédente", "Precedente", "Previous"),
    "task.next": ("Nächste", "Suivante", "Successiva", "Next"),
    "task.keys": (
        "Tastatur: j/k nächste/vorherige · e bearbeiten · Enter absenden",
        "Clavier : j/k suivante/précédente · e modifier · Entrée envoyer",
        "Tastiera: j/k successiva/precedente · e modificare · Invio inviare",
        "Keyboard: j/k next/previous · e edit · Enter submit",
    ),
    "task.note": ("Notiz (optional)", "Note (facultatif)", "Nota (facoltativa)", "Note (optional)"),
    "task.supplier_page": (
        "Lieferant und Gelerntes",
        "Fournisseur et acquis",
        "Fornitore e appreso",
        "Supplier and what was learned",
    ),
    "task.done_flash": (
        "Aufgabe {id}: {outcome}.",
        "Tâche {id} : {outcome}.",
        "Attività {id}: {outcome}.",
        "Task {id}: {outcome}.",
    ),
    "task.correct_hint": (
        "Geänderte Felder werden als Korrektur gespeichert und für diesen Lieferanten gelernt.",
        "Les champs modifiés sont enregistrés comme correction et appris pour ce fournisseur.",
        "I campi modificati sono salvati come correzione e appresi per questo fornitore.",
        "Changed fields are saved as a correction and learned for this supplier.",
    ),
    # --- a task's bank entry ---
    "entry.title": ("Bankbuchung", "Écriture bancaire", "Movimento bancario", "Bank entry"),
    "entry.date": (
        "Buchungsdatum",
        "Date de comptabilisation",
        "Data di registrazione",
        "Booking date",
    ),
    "entry.amount": ("Betrag", "Montant", "Importo", "Amount"),
    "entry.debit": ("Belastung", "Débit", "Addebito", "Debit"),
    "entry.credit": ("Gutschrift", "Crédit", "Accredito", "Credit"),
    "entry.counterparty": ("Gegenpartei", "Contrepartie", "Controparte", "Counterparty"),
    "entry.remittance": ("Mitteilung", "Communication", "Comunicazione", "Remittance"),
    "entry.reference": ("Referenz", "Référence", "Riferimento", "Reference"),
    "entry.account": ("Eigenes Konto", "Compte propre", "Conto proprio", "Own account"),
    "entry.upload_hint": (
        "Laden Sie die Quittung oder Rechnung zu dieser Zahlung hoch.",
        "Veuillez téléverser le justificatif ou la facture de ce paiement.",
        "Caricate la ricevuta o la fattura di questo pagamento.",
        "Upload the receipt or invoice for this payment.",
    ),
    # --- actions ---
    "act.release": ("Freigeben", "Libérer", "Approvare", "Release"),
    "act.approve": ("Genehmigen", "Approuver", "Approvare", "Approve"),
    "act.post": (
        "Prüfen und verbuchen",
        "Vérifier et comptabiliser",
        "Verificare e registrare",
        "Check and post",
    ),
    "act.not_duplicate": (
        "Kein Duplikat – weiter",
        "Pas un doublon – continuer",
        "Non è un duplicato – continua",
        "Not a duplicate – carry on",
    ),
    "act.confirm_bank": (
        "Bankverbindung bestätigen",
        "Confirmer les coordonnées",
        "Confermare le coordinate",
        "Confirm bank details",
    ),
    "act.confirm_supplier": (
        "Lieferant bestätigen",
        "Confirmer le fournisseur",
        "Confermare fornitore",
        "Confirm supplier",
    ),
    "act.done": ("Erledigt", "Terminé", "Completato", "Done"),
    "act.reject": ("Ablehnen", "Refuser", "Rifiutare", "Reject"),
    "act.reject_reason": (
        "Grund der Ablehnung",
        "Motif du refus",
        "Motivo del rifiuto",
        "Reason for rejecting",
    ),
    "act.reject_other": (
        "Anderer Grund (Text)",
        "Autre motif (texte)",
        "Altro motivo (testo)",
        "Other reason (text)",
    ),
    "reject.private": ("Privat", "Privé", "Privato", "Private"),
    "reject.not_a_business_document": (
        "Kein Geschäftsbeleg",
        "Pas un justificatif commercial",
        "Non è un documento aziendale",
        "Not a business document",
    ),
    "reject.duplicate": ("Duplikat", "Doublon", "Duplicato", "Duplicate"),
    "reject.not_our_client": (
        "Nicht unser Kunde",
        "Pas notre client",
        "Non è nostro cliente",
        "Not our client",
    ),
    "reject.other": ("Anderer Grund", "Autre motif", "Altro motivo", "Other reason"),
    "act.ask": ("Kunde fragen", "Demander au client", "Chiedere al cliente", "Ask the client"),
    "act.ask_placeholder": (
        "Was möchten Sie vom Kunden wissen?",
        "Que souhaitez-vous demander au client ?",
        "Cosa vuole chiedere al cliente?",
        "What do you want to ask the client?",
    ),
    "act.ask_offline": (
        "Offline-Kunde: die Frage geht per E-Mail an {email}.",
        "Client hors ligne : la question part par e-mail à {email}.",
        "Cliente offline: la domanda parte per e-mail a {email}.",
        "Offline client: the question goes by e-mail to {email}.",
    ),
    "act.ask_online": (
        "Online-Kunde: die Frage erscheint in seinen Aufgaben.",
        "Client en ligne : la question apparaît dans ses tâches.",
        "Cliente online: la domanda appare nelle sue attività.",
        "Online client: the question appears among their tasks.",
    ),
    "act.upload": (
        "Fehlenden Beleg hochladen",
        "Téléverser le justificatif manquant",
        "Caricare il documento mancante",
        "Upload the missing document",
    ),
    "act.upload_button": ("Hochladen", "Téléverser", "Caricare", "Upload"),
    # --- errors ---
    "err.not_allowed": ("Nicht erlaubt", "Non autorisé", "Non consentito", "Not allowed"),
    "err.blocked": (
        "Noch nicht möglich",
        "Pas encore possible",
        "Non ancora possibile",
        "Not possible yet",
    ),
    "err.invalid": (
        "Bitte prüfen Sie die Eingabe",
        "Veuillez vérifier la saisie",
        "Verificare i dati",
        "Please check your input",
    ),
    "err.stale": (
        "Die Seite war veraltet. Bitte laden Sie sie neu und versuchen Sie es noch einmal.",
        "La page était périmée. Veuillez la recharger et réessayer.",
        "La pagina era scaduta. Ricaricarla e riprovare.",
        "The page was stale. Please reload it and try again.",
    ),
    "err.unavailable": (
        "Diese Funktion ist noch nicht verfügbar.",
        "Cette fonction n'est pas encore disponible.",
        "Questa funzione non è ancora disponibile.",
        "This function is not available yet.",
    ),
    # --- history actions ---
    "hist.corrected": ("korrigiert", "corrigé", "corretto", "corrected"),
    "hist.released": ("freigegeben", "libéré", "approvato", "released"),
    "hist.approved": ("genehmigt", "approuvé", "approvato", "approved"),
    "hist.posted": ("verbucht", "comptabilisé", "registrato", "posted"),
    "hist.rejected": ("abgelehnt", "refusé", "rifiutato", "rejected"),
    "hist.reversed": ("storniert", "extourné", "stornato", "reversed"),
    "hist.asked": ("Kunde gefragt", "client sollicité", "cliente interpellato", "client asked"),
    "hist.not_a_duplicate": (
        "kein Duplikat",
        "pas un doublon",
        "non un duplicato",
        "not a duplicate",
    ),
    "hist.confirmed": ("bestätigt", "confirmé", "confermato", "confirmed"),
    "hist.uploaded": (
        "Beleg nachgereicht",
        "justificatif fourni",
        "documento fornito",
        "document uploaded",
    ),
    # --- supplier page ---
    "sup.title": ("Lieferant {name}", "Fournisseur {name}", "Fornitore {name}", "Supplier {name}"),
    "sup.master": ("Stammdaten", "Données de base", "Dati anagrafici", "Master data"),
    "sup.learned": (
        "Gelernt aus Korrekturen",
        "Appris des corrections",
        "Appreso dalle correzioni",
        "Learned from corrections",
    ),
    "sup.learned_for": ("für {client}", "pour {client}", "per {client}", "for {client}"),
    "sup.nothing": (
        "Noch nichts gelernt.",
        "Rien appris pour l'instant.",
        "Ancora nulla di appreso.",
        "Nothing learned yet.",
    ),
    "sup.aliases": (
        "Weitere Namen und Konten",
        "Autres noms et comptes",
        "Altri nomi e conti",
        "Other names and accounts",
    ),
    "sup.positions": (
        "Wo das Layout Felder druckt",
        "Où la mise en page imprime les champs",
        "Dove il layout stampa i campi",
        "Where the layout prints fields",
    ),
    "sup.changes": ("Änderungen", "Modifications", "Modifiche", "Changes"),
    "sup.by_at": ("von {by} am {at}", "par {by} le {at}", "da {by} il {at}", "by {by} on {at}"),
    "sup.edit": (
        "Gelerntes ändern",
        "Modifier l'acquis",
        "Modificare l'appreso",
        "Edit what was learned",
    ),
    "sup.save": ("Speichern", "Enregistrer", "Salvare", "Save"),
    "sup.forget": ("Vergessen", "Oublier", "Dimenticare", "Forget"),
    "sup.saved": ("Gespeichert.", "Enregistré.", "Salvato.", "Saved."),
    "sup.choose_client": ("Kunde", "Client", "Cliente", "Client"),
    "sup.ibans": ("Bekannte Konten", "Comptes connus", "Conti noti", "Known accounts"),
    "sup.address": ("Adresse", "Adresse", "Indirizzo", "Address"),
    "sup.default_account": (
        "Standardkonto",
        "Compte par défaut",
        "Conto predefinito",
        "Default account",
    ),
    "learned.account": ("Konto", "Compte", "Conto", "Account"),
    "learned.vat_code": ("MWST-Code", "Code TVA", "Codice IVA", "VAT code"),
    "learned.payment_method": (
        "Zahlungsart",
        "Mode de paiement",
        "Modalità di pagamento",
        "Payment method",
    ),
    "learned.private": ("Privat", "Privé", "Privato", "Private"),
}


def lang_of(*candidates: str | None) -> Lang:
    """The first candidate that is a language we speak (user's, then client's), else de."""
    for candidate in candidates:
        if candidate and candidate.lower() in Lang.__members__.values():
            return Lang(candidate.lower())
    return DEFAULT


def translate(lang: Lang, key: str, **values: Any) -> str:
    """The label in `lang`; an unknown key is shown as itself (and fails the i18n test)."""
    entry = T.get(key)
    if entry is None:
        return key
    text = entry[_INDEX[lang]]
    return text.format(**values) if values else text


class Translator:
    """`t("kind.release_invoice")` in templates, bound to one page's language."""

    def __init__(self, lang: Lang):
        self.lang = lang

    def __call__(self, key: str, **values: Any) -> str:
        return translate(self.lang, key, **values)

    def maybe(self, prefix: str, value: str | None) -> str:
        """`prefix.value` when there is such a key, else the raw value (new kinds)."""
        if value is None:
            return ""
        key = f"{prefix}.{value}"
        return translate(self.lang, key) if key in T else value
