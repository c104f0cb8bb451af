"""Belgian minimum standard chart of accounts (PCMN) used by the demo dossiers.

Only the accounts the demo books are listed; labels are the usual French ones. The class
is the first digit of the number (0 off-balance ... 7 income).
"""

from __future__ import annotations

ACCOUNTS: tuple[tuple[str, str], ...] = (
    ("100", "Capital souscrit"),
    ("130", "Réserve légale"),
    ("140", "Bénéfice reporté"),
    ("141", "Perte reportée"),
    ("173", "Emprunts auprès des établissements de crédit"),
    ("230", "Installations, machines et outillage"),
    ("2309", "Amortissements sur installations et machines"),
    ("240", "Mobilier et matériel roulant"),
    ("2409", "Amortissements sur mobilier et matériel roulant"),
    ("340", "Marchandises"),
    ("400", "Clients"),
    ("411", "TVA à récupérer"),
    ("440", "Fournisseurs"),
    ("450", "Dettes fiscales estimées"),
    ("451", "TVA à payer"),
    ("4512", "TVA : compte courant (déclarations périodiques)"),
    ("453", "Précomptes retenus"),
    ("454", "Office national de sécurité sociale"),
    ("455", "Rémunérations"),
    ("499", "Comptes d'attente"),
    ("550", "Établissements de crédit : comptes courants"),
    ("570", "Caisses : espèces"),
    ("580", "Virements internes"),
    ("600", "Achats de matières premières"),
    ("604", "Achats de marchandises"),
    ("610", "Loyers et charges locatives"),
    ("611", "Entretien et réparations"),
    ("612", "Fournitures de bureau"),
    ("613", "Rétributions de tiers"),
    ("614", "Publicité et annonces"),
    ("615", "Frais de déplacement"),
    ("616", "Énergie"),
    ("617", "Téléphone et internet"),
    ("620", "Rémunérations et avantages sociaux directs"),
    ("621", "Cotisations patronales d'assurances sociales"),
    ("630", "Dotations aux amortissements"),
    ("640", "Autres charges d'exploitation"),
    ("650", "Charges des dettes"),
    ("670", "Impôts sur le résultat"),
    ("690", "Perte reportée de l'exercice précédent"),
    ("693", "Bénéfice à reporter"),
    ("700", "Ventes de marchandises"),
    ("701", "Ventes de produits finis"),
    ("705", "Prestations de services"),
    ("740", "Subsides d'exploitation"),
    ("750", "Produits des actifs financiers"),
    ("790", "Bénéfice reporté de l'exercice précédent"),
    ("793", "Perte à reporter"),
)

# (code, label, kind) — kinds match schema.JOURNAL_KINDS.
JOURNALS: tuple[tuple[str, str, str], ...] = (
    ("ACH", "Achats", "PURCHASES"),
    ("VEN", "Ventes", "SALES"),
    ("BNK", "Banque", "FINANCIAL"),
    ("OD", "Opérations diverses", "MISC"),
    ("OUV", "Ouverture", "OPENING"),
)

VAT_RATES_BP: tuple[int, ...] = (2100, 1200, 600, 0)

SALES_ACCOUNTS = ("700", "701", "705")
PURCHASE_ACCOUNTS = ("600", "604", "610", "611", "612", "613", "614", "615", "616", "617")
CUSTOMERS_ACCOUNT = "400"
SUPPLIERS_ACCOUNT = "440"
VAT_RECOVERABLE_ACCOUNT = "411"
VAT_PAYABLE_ACCOUNT = "451"
VAT_CURRENT_ACCOUNT = "4512"  # a PCMN subdivision of 451: settled VAT, due to/from the State
BANK_ACCOUNT = "550"
PROFIT_CARRIED_ACCOUNT = "140"
LOSS_CARRIED_ACCOUNT = "141"
# year-end appropriation (affectation du résultat), PCMN class 6/7 accounts 69x/79x
LOSS_BROUGHT_FORWARD = "690"  # perte reportée de l'exercice précédent (debit, from 141)
PROFIT_TO_CARRY = "693"  # bénéfice à reporter (debit, to 140)
PROFIT_BROUGHT_FORWARD = "790"  # bénéfice reporté de l'exercice précédent (credit, from 140)
LOSS_TO_CARRY = "793"  # perte à reporter (credit, to 141)
CORPORATE_TAX_RATE_BP = 2500  # Belgian corporate income tax, standard rate 25 %
# Accounts whose balance carried into a year is paid (credit) or received (debit) early in it
SETTLED_NEXT_YEAR = ("450", "4512", "453", "454", "455")


def class_of(number: str) -> int:
    return int(number[0])
