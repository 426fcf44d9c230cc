"""Which language a document is written in (de, fr, it, en, nl, es, pt).

Counts each language's common words (function words and the words invoices and receipts
print), word endings typical of one language, and a few letters only some languages use.
Everything is compared without accents, because OCR drops and invents them; a word that
several languages share splits its vote between them. OCR noise (one- and two-letter
fragments, stray accents) carries little weight, and the confidence says how much text
there was to go on and how clearly one language led.
"""

import re
from collections import defaultdict

from extractors.fields.labels import fold_text

_COMMON = {
    "de": "der die das und ist nicht mit fur auf den dem des bitte ihre ihr ihnen wir sie "
    "zahlbar rechnung rechnungsnummer rechnungsdatum betrag datum vielen dank besten grusse "
    "freundlichen mwst bis vom zum zur innert innerhalb tagen sehr geehrte damen herren ein "
    "eine einer eines gutschrift mahnung menge preis summe gesamt gesamtbetrag brutto "
    "zwischensumme steuer umsatzsteuer ust beschreibung bezeichnung artikel anzahl stuck "
    "lieferung leistung kunde kundennummer nummer bestellung auftrag zahlung konto telefon "
    "strasse seite oder auch noch nach bei aus unter uber wird werden sind haben hat als "
    "wie sich uns unser unsere gemass inkl exkl zzgl zuzuglich rabatt skonto einzelpreis "
    "lieferschein quittung",
    "fr": "le la les des et est pour une un avec vous nous votre vos merci facture montant "
    "date payable jusqu au aux du sur par dans jours madame monsieur salutations tva total "
    "ce cette qui que ne pas sont etre ete ont nos notre leur prix quantite designation "
    "hors taxes ttc ht paiement reglement echeance client commande livraison adresse "
    "telephone avoir remise conditions bancaires veuillez agreer distinguees recu "
    "unitaire ci de en",
    "it": "il lo la le gli di del della delle dei per con una uno che non sono vostra vostro "
    "grazie fattura importo data pagabile entro giorni signore signori saluti iva totale "
    "distinti cordiali nel al alla alle dal dalla sul sulla come anche questo questa nostro "
    "nostra prezzo quantita descrizione imponibile pagamento scadenza cliente ordine "
    "consegna indirizzo telefono pagina sconto bonifico bancario ricevuta scontrino "
    "importi aliquota",
    "en": "the and is for with your you we our please invoice amount date payable within "
    "days thank thanks dear sir madam regards vat total of to by this from due tax subtotal "
    "description quantity qty price unit item items payment terms bill customer order "
    "number phone street road avenue suite address page balance paid receipt sales sincerely "
    "shipping sold are "
    "will be has have been if on at an or as all any which net gross",
    "nl": "de het een en van is niet met voor op aan bij uw wij we ons onze deze dit dat "
    "die zijn worden wordt heeft hebben factuur factuurnummer factuurdatum bedrag totaal "
    "subtotaal btw datum betaling betalen binnen dagen vervaldatum vervaldag klant "
    "klantnummer omschrijving aantal prijs stuk korting levering adres telefoon pagina "
    "bedankt dank vriendelijke groet groeten geachte heer mevrouw graag rekening "
    "rekeningnummer naar over onder tot ook nog als of per excl incl",
    "es": "el la los las de del y en que por para con un una unos unas es no se su sus al "
    "lo le les factura fecha importe total subtotal iva base imponible precio cantidad "
    "descripcion cliente pago forma vencimiento dias gracias senor senores atentamente "
    "saludos direccion telefono numero pagina nuestro nuestra usted ustedes este esta "
    "estos pedido entrega albaran cuenta bancaria euros transferencia segun como mas pero "
    "hasta desde emision recibo unidad unidades",
    "pt": "o a os as de do da dos das e em no na nos nas um uma por para com que nao se "
    "seu sua ao fatura data valor total subtotal iva imposto preco quantidade descricao "
    "cliente pagamento vencimento dias obrigado obrigada senhor senhores cumprimentos "
    "morada endereco telefone numero pagina nosso nossa voce este esta estes pedido entrega "
    "conta bancaria euros transferencia contribuinte nif emissao documento ate desde mais "
    "mas pelo pela recibo unitario",
}
_WORDS: dict[str, set[str]] = {lang: set(words.split()) for lang, words in _COMMON.items()}
# Endings of words that are not in the lists above: votes for words nobody listed.
_ENDINGS: dict[str, tuple[str, ...]] = {
    "de": ("ung", "ungen", "keit", "heit", "schaft", "lich", "isch"),
    "fr": ("tion", "tions", "eur", "eurs", "ique", "ement", "aux"),
    "it": ("zione", "zioni", "ita", "mente", "ggio"),
    "en": ("tion", "tions", "ing", "ness", "ship", "ment", "ed"),
    "nl": ("heid", "lijk", "ing", "tje", "ische"),
    "es": ("cion", "ciones", "idad", "mente", "ado", "ada"),
    "pt": ("cao", "coes", "idade", "mente", "ado", "ada"),
}
_ENDING_WEIGHT = 0.3
# Letters one language writes and OCR rarely invents: counted before folding, capped, so
# that stray accents in a noisy scan cannot outvote the words.
_LETTERS = {"de": "äöüß", "fr": "èêçàâîôû", "it": "òìù", "es": "ñ¿¡", "pt": "ãõç", "nl": "ĳ"}
_LETTER_WEIGHT = 0.2
_LETTER_CAP = 2.0
_TOKEN = re.compile(r"[a-z']+")
_MIN_VOTES = 3.0
_SURE_VOTES = 25.0  # this many votes in all and the count itself is no longer in doubt


def _word_votes(tokens: list[str]) -> defaultdict[str, float]:
    votes: defaultdict[str, float] = defaultdict(float)
    for token in tokens:
        if len(token) < 2:
            continue  # OCR fragments; "a", "e", "o", "y" are too ambiguous to tell apart
        langs = [lang for lang, words in _WORDS.items() if token in words]
        if langs:
            for lang in langs:
                votes[lang] += 1.0 / len(langs)
            continue
        if len(token) < 5:
            continue
        ends = [lang for lang, endings in _ENDINGS.items() if token.endswith(endings)]
        for lang in ends:
            votes[lang] += _ENDING_WEIGHT / len(ends)
    return votes


def _letter_votes(text: str, votes: defaultdict[str, float]) -> None:
    lowered = text.lower()
    for lang, letters in _LETTERS.items():
        count = sum(lowered.count(ch) for ch in letters)
        votes[lang] += min(_LETTER_CAP, _LETTER_WEIGHT * count)


def detect_language(text: str) -> tuple[str | None, float]:
    """(language, confidence 0..1); (None, 0) when there is too little text."""
    sample = text[:20000]
    tokens = [t.strip("'") for t in _TOKEN.findall(fold_text(sample))]
    votes = _word_votes(tokens)
    _letter_votes(sample, votes)
    total = sum(votes.values())
    if total < _MIN_VOTES:
        return None, 0.0
    ranked = sorted(votes.items(), key=lambda kv: kv[1], reverse=True)
    best, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    lead = (top - second) / top
    # Little text leaves even a clear lead in doubt: a dozen words decide nothing for sure.
    amount = min(1.0, 0.55 + 0.45 * total / _SURE_VOTES)
    confidence = (0.5 + 0.49 * lead) * amount
    return best, round(min(confidence, 0.99), 3)
