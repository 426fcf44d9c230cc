"""The words documents are made of, per language (DOMAIN.md "Words that tell the type").

`de` is Swiss German (ss, "innert", "Grüsse"); `de_eu` overrides it for suppliers in
Germany and Austria (ß, "innerhalb", "USt."), falling back to `de` where they agree.
"""

from __future__ import annotations

import random

W = dict[str, tuple[str, ...]]

WORDS: dict[str, W] = {
    "invoice_title": {
        "de": ("Rechnung", "Rechnung", "Rechnung", "Faktura"),
        "fr": ("Facture",),
        "it": ("Fattura",),
        "en": ("Invoice",),
    },
    "fee_invoice_title": {
        "de": ("Honorarrechnung", "Rechnung"),
        "fr": ("Note d'honoraires", "Facture"),
        "it": ("Fattura", "Nota d'onorario"),
        "en": ("Invoice",),
    },
    "premium_invoice_title": {
        "de": ("Prämienrechnung",),
        "fr": ("Facture de prime",),
        "it": ("Fattura premio",),
        "en": ("Premium invoice",),
    },
    "credit_title": {
        "de": ("Gutschrift", "Gutschrift", "Rechnungskorrektur"),
        "fr": ("Note de crédit", "Avoir"),
        "it": ("Nota di credito",),
        "en": ("Credit note", "Credit memo"),
    },
    "invoice_no": {
        "de": ("Rechnung Nr.", "Rechnungsnummer", "Re-Nr.", "Rechnungs-Nr."),
        "fr": ("Facture n°", "N° de facture", "Facture no"),
        "it": ("Fattura n.", "N. fattura", "Fattura nr."),
        "en": ("Invoice no.", "Invoice number", "Invoice #"),
    },
    "credit_no": {
        "de": ("Gutschrift Nr.", "Gutschrift-Nr."),
        "fr": ("Note de crédit n°", "Avoir n°"),
        "it": ("Nota di credito n.",),
        "en": ("Credit note no.",),
    },
    "date": {
        "de": ("Datum", "Rechnungsdatum"),
        "fr": ("Date", "Date de facture"),
        "it": ("Data", "Data fattura"),
        "en": ("Date", "Invoice date"),
    },
    "due": {
        "de": ("Zahlbar bis", "Fällig am", "Fälligkeit"),
        "fr": ("Payable jusqu'au", "Échéance"),
        "it": ("Pagabile entro", "Scadenza"),
        "en": ("Due date", "Payable by"),
    },
    "customer_no": {
        "de": ("Kunden-Nr.", "Kundennummer"),
        "fr": ("N° client", "Client n°"),
        "it": ("N. cliente", "Cliente n."),
        "en": ("Customer no.",),
    },
    "your_ref": {
        "de": ("Ihre Referenz", "Ihr Zeichen", "Ihre Bestellung"),
        "fr": ("Votre référence", "Votre commande"),
        "it": ("Vostro riferimento", "Vostro ordine"),
        "en": ("Your reference", "Your order"),
    },
    "delivery_date": {
        "de": ("Lieferdatum", "Leistungsdatum"),
        "fr": ("Date de livraison", "Date de prestation"),
        "it": ("Data di consegna", "Data prestazione"),
        "en": ("Delivery date", "Date of service"),
    },
    "period": {
        "de": ("Leistungszeitraum", "Periode"),
        "fr": ("Période",),
        "it": ("Periodo",),
        "en": ("Period",),
    },
    "page": {
        "de": ("Seite {i}/{n}", "Seite {i} von {n}"),
        "fr": ("Page {i}/{n}", "Page {i} sur {n}"),
        "it": ("Pagina {i}/{n}", "Pagina {i} di {n}"),
        "en": ("Page {i}/{n}", "Page {i} of {n}"),
    },
    "carried": {
        "de": ("Übertrag",),
        "fr": ("Report",),
        "it": ("Riporto",),
        "en": ("Carried forward",),
    },
    "col_pos": {"de": ("Pos.",), "fr": ("Pos.",), "it": ("Pos.",), "en": ("Item",)},
    "col_desc": {
        "de": ("Bezeichnung", "Beschreibung", "Leistung", "Artikel"),
        "fr": ("Désignation", "Description", "Libellé"),
        "it": ("Descrizione", "Designazione"),
        "en": ("Description",),
    },
    "col_qty": {
        "de": ("Menge", "Anzahl"),
        "fr": ("Qté", "Quantité"),
        "it": ("Qtà", "Quantità"),
        "en": ("Qty", "Quantity"),
    },
    "col_unit": {"de": ("Einheit",), "fr": ("Unité",), "it": ("Unità",), "en": ("Unit",)},
    "col_price": {
        "de": ("Preis", "Einzelpreis", "Ansatz"),
        "de_eu": ("Einzelpreis", "E-Preis"),
        "fr": ("Prix unit.", "Prix"),
        "it": ("Prezzo unit.", "Prezzo"),
        "en": ("Unit price", "Rate"),
    },
    "col_amount": {
        "de": ("Betrag", "Total"),
        "de_eu": ("Gesamt", "Betrag"),
        "fr": ("Montant", "Total"),
        "it": ("Importo", "Totale"),
        "en": ("Amount", "Total"),
    },
    "col_vat": {
        "de": ("MWST", "MWST-Satz"),
        "de_eu": ("USt.", "MwSt."),
        "fr": ("TVA", "Taux TVA"),
        "it": ("IVA", "Aliquota"),
        "en": ("VAT", "VAT rate"),
    },
    "subtotal": {
        "de": ("Zwischentotal", "Total netto", "Total exkl. MWST", "Nettobetrag"),
        "de_eu": ("Nettobetrag", "Summe netto", "Zwischensumme"),
        "fr": ("Sous-total", "Total HT", "Total hors TVA", "Montant net"),
        "it": ("Subtotale", "Totale netto", "Totale IVA esclusa", "Imponibile"),
        "en": ("Subtotal", "Net total", "Total excl. VAT"),
    },
    "vat_line": {
        "de": ("MWST {rate}% auf {base}", "MWST {rate}%", "zzgl. MWST {rate}%"),
        "de_eu": ("zzgl. {rate} % USt.", "MwSt. {rate} %", "USt. {rate} % auf {base}"),
        "fr": ("TVA {rate}% sur {base}", "TVA {rate}%", "TVA {rate} %"),
        "it": ("IVA {rate}% su {base}", "IVA {rate}%"),
        "en": ("VAT {rate}% on {base}", "VAT {rate}%"),
    },
    "vat_short": {
        "de": ("MWST",),
        "de_eu": ("USt.",),
        "fr": ("TVA",),
        "it": ("IVA",),
        "en": ("VAT",),
    },
    "total": {
        "de": (
            "Total",
            "Rechnungsbetrag",
            "Gesamtbetrag",
            "Total inkl. MWST",
            "Zu bezahlen",
            "Totalbetrag",
        ),
        "de_eu": ("Rechnungsbetrag", "Gesamtbetrag", "Summe brutto", "Endbetrag"),
        "fr": ("Total", "Montant total", "Total TTC", "À payer", "Total TVA incluse"),
        "it": ("Totale", "Importo da pagare", "Totale IVA inclusa", "Importo totale"),
        "en": ("Total", "Total due", "Amount due", "Total incl. VAT"),
    },
    "credit_total": {
        "de": ("Total Gutschrift", "Gutschriftsbetrag", "Zu Ihren Gunsten"),
        "fr": ("Total en votre faveur", "Montant de la note de crédit", "Total avoir"),
        "it": ("Totale a vostro favore", "Importo nota di credito"),
        "en": ("Total credit", "Credit amount"),
    },
    "terms": {
        "de": (
            "Zahlbar innert {days} Tagen netto.",
            "Zahlbar innert {days} Tagen ohne Abzug.",
            "Zahlungsfrist: {days} Tage netto",
            "Zahlbar bis {due}.",
        ),
        "de_eu": (
            "Zahlbar innerhalb von {days} Tagen ohne Abzug.",
            "Bitte überweisen Sie den Rechnungsbetrag bis zum {due}.",
            "Zahlungsziel: {days} Tage netto",
        ),
        "fr": (
            "Payable à {days} jours net.",
            "Payable dans les {days} jours, sans escompte.",
            "Délai de paiement : {days} jours net",
            "Payable jusqu'au {due}.",
        ),
        "it": (
            "Pagabile entro {days} giorni netto.",
            "Termine di pagamento: {days} giorni netti",
            "Pagabile entro il {due}.",
        ),
        "en": (
            "Payable within {days} days net.",
            "Payment terms: {days} days net",
            "Please pay by {due}.",
        ),
    },
    "terms_skonto": {
        "de": ("Zahlbar innert {sdays} Tagen mit {pct}% Skonto oder innert {days} Tagen netto.",),
        "de_eu": (
            "Zahlbar innerhalb von {sdays} Tagen mit {pct} % Skonto, "
            "innerhalb von {days} Tagen netto.",
        ),
        "fr": ("Payable à {sdays} jours avec {pct}% d'escompte ou à {days} jours net.",),
        "it": ("Pagabile entro {sdays} giorni con sconto del {pct}% o entro {days} giorni netto.",),
        "en": ("{pct}% discount if paid within {sdays} days, otherwise {days} days net.",),
    },
    "greeting": {
        "de": ("Sehr geehrte Damen und Herren", "Guten Tag"),
        "fr": ("Madame, Monsieur,",),
        "it": ("Gentili Signore e Signori,", "Egregi Signori,"),
        "en": ("Dear Sir or Madam,",),
    },
    "intro_invoice": {
        "de": (
            "Wir erlauben uns, Ihnen folgende Leistungen in Rechnung zu stellen:",
            "Für unsere Leistungen stellen wir Ihnen wie folgt Rechnung:",
            "Besten Dank für Ihren Auftrag. Wir verrechnen Ihnen:",
        ),
        "de_eu": (
            "Wir erlauben uns, Ihnen folgende Leistungen in Rechnung zu stellen:",
            "Vielen Dank für Ihren Auftrag. Wir berechnen Ihnen:",
        ),
        "fr": (
            "Nous nous permettons de vous facturer les prestations suivantes :",
            "Pour nos prestations, nous vous facturons :",
        ),
        "it": (
            "Ci permettiamo di fatturarvi le seguenti prestazioni:",
            "Per le nostre prestazioni vi fatturiamo:",
        ),
        "en": (
            "We hereby invoice the following services:",
            "For our services we charge as follows:",
        ),
    },
    "thanks": {
        "de": (
            "Besten Dank für Ihren Auftrag.",
            "Wir danken für Ihr Vertrauen.",
            "Vielen Dank für die angenehme Zusammenarbeit.",
        ),
        "de_eu": ("Vielen Dank für Ihren Auftrag.", "Wir danken für Ihr Vertrauen."),
        "fr": ("Nous vous remercions de votre confiance.", "Merci de votre commande."),
        "it": ("Vi ringraziamo per la fiducia accordataci.", "Grazie per l'ordine."),
        "en": ("Thank you for your business.", "We appreciate your trust."),
    },
    "closing": {
        "de": ("Freundliche Grüsse", "Mit freundlichen Grüssen", "Beste Grüsse"),
        "de_eu": ("Mit freundlichen Grüßen",),
        "fr": ("Meilleures salutations", "Avec nos meilleures salutations"),
        "it": ("Cordiali saluti", "Distinti saluti"),
        "en": ("Kind regards", "Best regards"),
    },
    "bank": {
        "de": ("Bankverbindung", "Bank", "Zahlungsverbindung"),
        "fr": ("Coordonnées bancaires", "Banque"),
        "it": ("Coordinate bancarie", "Banca"),
        "en": ("Bank details", "Bank"),
    },
    "vat_no": {
        "de": ("MWST-Nr.", "UID", "MWST", ""),
        "fr": ("N° TVA", "IDE", "TVA", ""),
        "it": ("N. IVA", "IDI", "IVA", ""),
        "en": ("VAT no.", "UID", "VAT reg. no.", ""),
    },
    "eu_vat_no": {
        "de": ("USt-IdNr.", "USt-ID", "UID-Nr."),
        "fr": ("N° TVA intracommunautaire", "TVA intracom."),
        "it": ("P.IVA", "Partita IVA"),
        "en": ("VAT ID",),
    },
    "not_vat_registered": {
        "de": ("Nicht MWST-pflichtig.", "Wir sind nicht mehrwertsteuerpflichtig."),
        "fr": ("Non assujetti à la TVA.",),
        "it": ("Non assoggettato all'IVA.",),
        "en": ("Not registered for VAT.",),
    },
    "vat_exempt_insurance": {
        "de": ("Versicherungsprämien sind von der MWST ausgenommen.",),
        "fr": ("Les primes d'assurance sont exclues du champ de la TVA.",),
        "it": ("I premi assicurativi sono esclusi dall'IVA.",),
        "en": ("Insurance premiums are exempt from VAT.",),
    },
    "phone": {
        "de": ("Tel.", "Telefon", "T"),
        "fr": ("Tél.", "T"),
        "it": ("Tel.", "T"),
        "en": ("Phone", "T"),
    },
    "email": {
        "de": ("E-Mail", "Mail"),
        "fr": ("E-mail", "Courriel"),
        "it": ("E-mail",),
        "en": ("Email",),
    },
    "attention": {
        "de": ("z.H.", "z. Hd."),
        "fr": ("à l'att. de",),
        "it": ("all'att. di",),
        "en": ("Attn.",),
    },
    "pay_to": {
        "de": ("Bitte überweisen Sie den Betrag auf folgendes Konto:",),
        "de_eu": ("Bitte überweisen Sie den Betrag unter Angabe der Rechnungsnummer auf:",),
        "fr": ("Merci de verser le montant sur le compte suivant :",),
        "it": ("Vi preghiamo di versare l'importo sul seguente conto:",),
        "en": ("Please transfer the amount to:",),
    },
    "qr_message": {
        "de": ("Rechnung {no}", "Rechnung Nr. {no}"),
        "fr": ("Facture {no}", "Facture n° {no}"),
        "it": ("Fattura {no}", "Fattura n. {no}"),
        "en": ("Invoice {no}",),
    },
    "reminder_title": {
        "de": ("Zahlungserinnerung", "1. Mahnung", "2. Mahnung", "Letzte Mahnung"),
        "fr": ("Rappel", "1er rappel", "2e rappel", "Sommation"),
        "it": ("Sollecito di pagamento", "1° sollecito", "2° sollecito", "Diffida"),
        "en": ("Payment reminder", "First reminder", "Second reminder", "Final reminder"),
    },
    "reminder_intro": {
        "de": (
            "Bei der Durchsicht unserer Buchhaltung haben wir festgestellt, dass die "
            "folgende Rechnung noch offen ist:",
            "Sicher ist es Ihrer Aufmerksamkeit entgangen, dass die folgende Rechnung noch "
            "nicht beglichen ist:",
        ),
        "fr": ("Sauf erreur de notre part, la facture suivante reste impayée :",),
        "it": (
            "Dal controllo della nostra contabilità risulta che la seguente fattura non è "
            "ancora stata saldata:",
        ),
        "en": ("According to our records, the following invoice is still unpaid:",),
    },
    "reminder_outro": {
        "de": (
            "Wir bitten Sie, den ausstehenden Betrag innert {days} Tagen zu überweisen. "
            "Sollte sich Ihre Zahlung mit diesem Schreiben gekreuzt haben, betrachten Sie "
            "diese Mahnung als gegenstandslos.",
        ),
        "fr": (
            "Nous vous prions de bien vouloir régler le montant dû dans les {days} jours. "
            "Si votre paiement a croisé ce courrier, veuillez ne pas tenir compte de ce "
            "rappel.",
        ),
        "it": (
            "Vi preghiamo di versare l'importo dovuto entro {days} giorni. Se nel frattempo "
            "avete già provveduto al pagamento, vogliate considerare nullo il presente "
            "sollecito.",
        ),
        "en": (
            "Please pay the outstanding amount within {days} days. If you have already "
            "paid, please disregard this reminder.",
        ),
    },
    "reminder_fee": {
        "de": ("Mahngebühr", "Mahnspesen"),
        "fr": ("Frais de rappel",),
        "it": ("Spese di sollecito",),
        "en": ("Reminder fee",),
    },
    "reminder_cols": {
        "de": ("Rechnung Nr.|Datum|Fällig|Betrag|Offen",),
        "fr": ("Facture n°|Date|Échéance|Montant|Solde",),
        "it": ("Fattura n.|Data|Scadenza|Importo|Scoperto",),
        "en": ("Invoice no.|Date|Due|Amount|Open",),
    },
    "reminder_total": {
        "de": ("Total offener Betrag", "Zu bezahlen"),
        "fr": ("Montant dû", "Total à payer"),
        "it": ("Importo dovuto", "Totale da pagare"),
        "en": ("Amount due",),
    },
    "credit_intro": {
        "de": (
            "Gemäss Ihrer Rücksendung schreiben wir Ihnen folgende Positionen gut:",
            "Aufgrund Ihrer Reklamation erhalten Sie folgende Gutschrift:",
        ),
        "fr": (
            "Suite à votre retour, nous vous créditons les positions suivantes :",
            "Suite à votre réclamation, nous établissons la note de crédit suivante :",
        ),
        "it": ("A seguito del vostro reso vi accreditiamo le seguenti posizioni:",),
        "en": ("Following your return we credit you the following items:",),
    },
    "credit_ref": {
        "de": ("Bezug: Rechnung Nr. {no} vom {date}",),
        "fr": ("Concerne : facture n° {no} du {date}",),
        "it": ("Riferimento: fattura n. {no} del {date}",),
        "en": ("Re: invoice no. {no} of {date}",),
    },
    "credit_outro": {
        "de": (
            "Der Betrag wird mit Ihrer nächsten Rechnung verrechnet.",
            "Wir überweisen Ihnen den Betrag in den nächsten Tagen auf Ihr Konto.",
        ),
        "fr": (
            "Le montant sera déduit de votre prochaine facture.",
            "Nous vous rembourserons le montant dans les prochains jours.",
        ),
        "it": ("L'importo sarà dedotto dalla prossima fattura.",),
        "en": ("The amount will be offset against your next invoice.",),
    },
}


def _variants(key: str, language: str, eu: bool) -> tuple[str, ...]:
    table = WORDS[key]
    if eu and language == "de" and "de_eu" in table:
        return table["de_eu"]
    return table[language]


def pick(r: random.Random, key: str, language: str, *, eu: bool = False) -> str:
    return r.choice(_variants(key, language, eu))


def first(key: str, language: str, *, eu: bool = False) -> str:
    return _variants(key, language, eu)[0]
