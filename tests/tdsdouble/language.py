"""Message texts in a login's language: ``TdsServer.set_language("Français")``.

SQL Server sends its messages in the session's language: the login's default language (the
server's ``default language`` for new logins), until ``SET LANGUAGE``. The numbers stay the
same; the texts do not, so a client that reads texts instead of numbers breaks on a French
server. The double knows the French texts of the messages the engine meets on its common
paths (login, progress, verify, in use, device errors); any other message stays English.
"""

from __future__ import annotations

import re

ENGLISH = "us_english"
FRENCH = "Français"

# number -> (English pattern, French template with the groups as {0}, {1}...)
_FRENCH: dict[int, tuple[str, str]] = {
    18456: (r"^Login failed for user '(.*)'\.$", "Échec de l'ouverture de session de l'utilisateur '{0}'."),
    5701: (r"^Changed database context to '(.*)'\.$", "Contexte de base de données changé en '{0}'."),
    5703: (r"^Changed language setting to (.*)\.$", "Paramètre de langue changé en {0}."),
    3211: (r"^(\d+) percent processed\.$", "{0} pour cent traités."),
    4035: (r"^Processed (\d+) pages for database '(.*)', file '(.*)' on file (\d+)\.$",
           "{0} pages traitées pour la base de données '{1}', fichier '{2}' dans le fichier {3}."),
    3014: (r"^(.*) successfully processed (\d+) pages in ([\d.]+) seconds \(([\d.]+) MB/sec\)\.$",
           "{0} a traité avec succès {1} pages en {2} secondes ({3} Mo/s)."),
    3262: (r"^The backup set on file (\d+) is valid\.$", "Le jeu de sauvegarde du fichier {0} est valide."),
    3013: (r"^(.*) is terminating abnormally\.$", "{0} se termine anormalement."),
    3101: (r"^Exclusive access could not be obtained because the database is in use\.$",
           "Impossible d'obtenir un accès exclusif, car la base de données est en cours d'utilisation."),
    3201: (r"^Cannot open backup device '(.*)'\. Operating system error (.*)\.$",
           "Impossible d'ouvrir l'unité de sauvegarde '{0}'. Erreur du système d'exploitation {1}."),
    262: (r"^(.*) permission denied in database '(.*)'\.$",
          "Autorisation {0} refusée dans la base de données '{1}'."),
}  # fmt: skip


def text_in(language: str, number: int, text: str) -> str:
    """``text`` (English) as SQL Server says it in ``language``."""
    if language != FRENCH or number not in _FRENCH:
        return text
    pattern, template = _FRENCH[number]
    match = re.match(pattern, text, re.DOTALL)
    return template.format(*match.groups()) if match else text


def language_name(word: str) -> str:
    """``SET LANGUAGE us_english | English | Français | French`` -> the session's language."""
    return FRENCH if word.lower() in ("français", "french", "francais") else ENGLISH
