"""The description that goes with a FEC file (art. A47 A-1 LPF asks for the files to be
described: encoding, layout, what the codes mean). One plain-text file per FEC,
``<FEC file name without .txt>_DESCRIPTION.txt``, in French (the FEC's readers are French
tax auditors), UTF-8: the file's encoding, separator and columns; the dossier's identity and
identifier; the journals in the file and what each holds; the chart of accounts the account
numbers follow (a Belgian PCMN 411 is VAT to recover, a French PCG 411 is a customer) and
every account the file uses. docs/ACCOUNTING.md describes the same.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from msde_tui.engine.accounting import fecfields, schema
from msde_tui.engine.accounting.ledger import FiscalYear
from msde_tui.engine.atomic import write_atomic

if TYPE_CHECKING:
    from msde_tui.engine.accounting.fec import FecResult, Identity

SUFFIX = "_DESCRIPTION.txt"

JOURNAL_KINDS_FR = {
    "PURCHASES": "factures d'achat (fournisseurs, TVA déductible, autoliquidation intracommunautaire)",
    "SALES": "factures de vente (clients, TVA due)",
    "FINANCIAL": "extraits bancaires (encaissements, paiements, salaires, TVA, emprunt)",
    "MISC": "opérations diverses (paie, amortissements, déclarations TVA, impôt)",
    "OPENING": "bilan d'ouverture (à-nouveaux, reprise des soldes de l'exercice précédent)",
}

CHARTS = {
    "BE": (
        "Plan comptable minimum normalisé belge (PCMN, arrêté royal du 12 septembre 1983), "
        "et non le plan comptable général français : par exemple 411 = TVA à récupérer, "
        "451 = TVA à payer, 400 = clients, 440 = fournisseurs, 140/141 = bénéfice/perte "
        "reporté(e), 69x/79x = affectations du résultat."
    ),
    "FR": "Plan comptable général français (PCG, règlement ANC n° 2014-03).",
}

COLUMNS_FR = (
    ("JournalCode", "code du journal"),
    ("JournalLib", "libellé du journal"),
    ("EcritureNum", "numéro de l'écriture : code journal, tiret, numéro sur 6 chiffres, continu "
     "par journal et par exercice"),
    ("EcritureDate", "date de comptabilisation (AAAAMMJJ)"),
    ("CompteNum", "numéro de compte (plan indiqué ci-dessous)"),
    ("CompteLib", "libellé du compte"),
    ("CompAuxNum", "code du tiers sur les comptes collectifs 400 et 440"),
    ("CompAuxLib", "nom du tiers"),
    ("PieceRef", "référence de la pièce justificative"),
    ("PieceDate", "date de la pièce (AAAAMMJJ)"),
    ("EcritureLib", "libellé de la ligne"),
    ("Debit", "montant au débit"),
    ("Credit", "montant au crédit"),
    ("EcritureLet", "code de lettrage"),
    ("DateLet", "date de lettrage (AAAAMMJJ)"),
    ("ValidDate", "date de validation de l'écriture (vide : jamais validée, fichier provisoire)"),
    ("Montantdevise", "montant en devise (vide : tout est en euros)"),
    ("Idevise", "code de la devise (vide : euros)"),
)


def description_path(fec_path: Path) -> Path:
    return fec_path.with_name(fec_path.stem + SUFFIX)


def _journals(conn: sa.Connection, year: FiscalYear) -> list[tuple[str, str, str, int]]:
    e, j = schema.entry, schema.journal
    count = sa.func.count(e.c.id)
    rows = conn.execute(
        sa.select(j.c.code, j.c.label, j.c.kind, count)
        .select_from(j.join(e, e.c.journal_id == j.c.id))
        .where(e.c.fiscal_year_id == year.id, e.c.kind == "REAL", e.c.origin != "CLOSING")
        .group_by(j.c.code, j.c.label, j.c.kind)
        .order_by(j.c.code)
    )
    return [(r[0], r[1], r[2], int(r[3])) for r in rows]


def _accounts(conn: sa.Connection, year: FiscalYear) -> list[tuple[str, str]]:
    e, el, a = schema.entry, schema.entry_line, schema.account
    used = (
        sa.select(el.c.account_id)
        .select_from(el.join(e, e.c.id == el.c.entry_id))
        .where(e.c.fiscal_year_id == year.id, e.c.kind == "REAL", e.c.origin != "CLOSING")
    )
    rows = conn.execute(sa.select(a.c.number, a.c.label).where(a.c.id.in_(used)).order_by(a.c.number))
    return [(r[0], r[1]) for r in rows]


def render(conn: sa.Connection, year: FiscalYear, result: FecResult, *, ident: str,
           encoding: str, identity: Identity, source: str | None = None) -> str:
    siren = fecfields.siren(identity.vat_number, identity.country)
    country = (identity.country or "").upper()
    out = [
        f"Description du fichier des écritures comptables {result.path.name}",
        "",
        "Le FEC est un format français (article A47 A-1 du Livre des procédures fiscales).",
        "",
        "1. Dossier",
        f"   Société : {identity.company}",
        f"   Code du dossier : {identity.code}",
        f"   Numéro de TVA : {identity.vat_number or '(aucun)'}    Pays : {country or '?'}",
        f"   Identifiant du nom de fichier : {ident} "
        + ("(SIREN)" if siren == ident else
           f"(donné par l'utilisateur ; le SIREN de la société est {siren})" if siren else
           "(donné par l'utilisateur : la société n'a pas de SIREN)"),
        "",
        "2. Exercice",
        f"   {year.code} : du {year.start:%d/%m/%Y} au {year.end:%d/%m/%Y} (clôture)",
    ]
    if result.provisional:
        out.append("   FICHIER PROVISOIRE : " + "; ".join(result.reasons) + ".")
    if source:
        out.append(f"   Exercice archivé : écritures reprises de l'archive {source} (vérifiée).")
    out += [
        f"   {result.entries} écritures, {result.lines} lignes ; total débit = total crédit = "
        f"{fecfields.amount(result.debit_total)} EUR.",
        "",
        "3. Format",
        f"   Encodage : {encoding.upper()}" + (" (sans BOM)" if encoding == "utf-8" else "") + ".",
        "   Séparateur de zones : tabulation ; fin de ligne : CR LF ; première ligne : noms des zones.",
        "   Dates : AAAAMMJJ. Montants : virgule décimale, sans séparateur de milliers ; débit et "
        "crédit toujours remplis (0,00).",
        "   Zones, dans l'ordre :",
    ]
    out += [f"   {n:2d}. {name} : {meaning}" for n, (name, meaning) in enumerate(COLUMNS_FR, start=1)]
    out += [
        "",
        "4. Contenu",
        "   Toutes les écritures validées de l'exercice : les à-nouveaux d'abord, puis par date, "
        "journal et numéro. Les simulations et l'écriture de clôture qui solde les comptes de "
        "charges et de produits (affectation du résultat) n'y figurent pas.",
        "",
        "5. Journaux",
    ]
    for code, label, kind, n in _journals(conn, year):
        out.append(f"   {code} ({label}) : {JOURNAL_KINDS_FR.get(kind, kind)} — {n} écriture(s).")
    out += [
        "",
        "6. Plan comptable",
        "   " + CHARTS.get(country, f"Plan comptable du pays {country or '?'} (numéros tels que tenus)."),
        "   Comptes utilisés :",
    ]
    out += [f"   {number}  {label}" for number, label in _accounts(conn, year)]
    out += ["", f"Fichier produit le {datetime.now():%d/%m/%Y à %H:%M} par msde-tui.", ""]
    return "\r\n".join(out)


def write_description(conn: sa.Connection, year: FiscalYear, result: FecResult, *, ident: str,
                      encoding: str, identity: Identity, source: str | None = None) -> Path:
    path = description_path(result.path)
    text = render(conn, year, result, ident=ident, encoding=encoding, identity=identity, source=source)
    write_atomic(path, text.encode("utf-8"))
    return path
