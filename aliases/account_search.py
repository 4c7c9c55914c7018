"""Finding an alias account by its bank account as a customer gives it (issue 28): the account
number alone ("4398187-0", "43981870") or after its branch ("0001 4398187-0",
"0001/43981870", "0001-9 4398187-0"), in any punctuation.

The account number is encrypted and found through its search hash (`canonical` form:
separators removed, so any punctuation of the number alone hashes alike). With a branch the
term is cut at each separator in turn — "0001 4398187-0" may be branch "0001" and account
"4398187-0", or branch "0001 4398187" and account "0" — and each reading is one (account hash,
branch) pair: one read of the account-hash index for every reading's hashes at once, the
branch (plaintext) compared on the few rows found, separators ignored too. The alias list
shows those aliases; the holder list their holders (`aliases.admin.holders_by_alias`).
"""

import operator
import re
import uuid
from functools import reduce

from django.db.models import Q, QuerySet

from aliases.models import BANKING_ACCOUNT_FIELD, AliasAccount
from crm.admin.searching import term_hashes
from crm.crypto.search import canonical, canonical_sql

# Letters and digits in groups separated by spaces, dots, dashes or slashes (a branch "0001-9",
# an account "12345-X": some banks' check digit is a letter).
ACCOUNT_TERM = re.compile(r"[0-9A-Za-z]+(?:[\s./\-]+[0-9A-Za-z]+)*")
SEPARATORS = re.compile(r"[\s./\-]+")
# A branch and an account are a few groups at most; a longer term is not one (and each cut
# is one more pair to look up).
MAX_GROUPS = 6
_DIGIT = re.compile(r"\d")


def branch_account_readings(term: str) -> list[tuple[str, str]]:
    """Every (branch, account) a term may be, both canonical: the term cut at each separator,
    each side holding a digit ("0001 4398187-0" -> [("0001", "43981870"), ("00014398187",
    "0")]). Empty for a term that is not groups of letters and digits, has one group only,
    or more than `MAX_GROUPS`."""
    term = term.strip()
    if not ACCOUNT_TERM.fullmatch(term):
        return []
    groups = SEPARATORS.split(term)
    if not 2 <= len(groups) <= MAX_GROUPS:
        return []
    readings = []
    for cut in range(1, len(groups)):
        branch, account = canonical("".join(groups[:cut])), canonical("".join(groups[cut:]))
        if _DIGIT.search(branch) and _DIGIT.search(account):
            readings.append((branch, account))
    return readings


def account_matches(organizations: list[uuid.UUID], term: str) -> list[QuerySet]:
    """The aliases (of these organizations, any state) whose bank account the term gives:
    by the account number alone, and by branch and account number. Each is one read of the
    (organization, account hash, id) index; the callers take ids or holder ids from them."""
    aliases = AliasAccount.all_objects.filter(organization_id__in=organizations)
    matches = []
    if canonical(term):
        alone = term_hashes(organizations, BANKING_ACCOUNT_FIELD, term)
        matches.append(aliases.filter(banking_account_hash__in=alone))
    pairs = [
        (term_hashes(organizations, BANKING_ACCOUNT_FIELD, account), branch)
        for branch, account in branch_account_readings(term)
    ]
    if pairs:
        matches.append(
            aliases.filter(banking_account_hash__in=[h for hashes, _ in pairs for h in hashes])
            .alias(branch_canonical=canonical_sql("banking_branch"))
            .filter(
                reduce(
                    operator.or_,
                    (
                        Q(banking_account_hash__in=hashes, branch_canonical=branch)
                        for hashes, branch in pairs
                    ),
                )
            )
        )
    return matches
