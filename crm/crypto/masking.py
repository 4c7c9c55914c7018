"""Masked personal values for staff pages: enough to recognise a record, not to copy it. A
value no configured key decrypts is shown as its mark ("cannot be read with the current keys")."""

from crm.crypto.encryption import is_unreadable


def mask_document(document: str | None) -> str:
    """Show only the end of a tax document: `***.***.789-00` (CPF), `**.***.***/0001-95`
    (CNPJ), `*******1234` otherwise."""
    if not document:
        return ""
    if is_unreadable(document):
        return str(document)
    compact = "".join(char for char in document if char.isalnum())
    if len(compact) == 11 and compact.isdigit():
        return f"***.***.{compact[6:9]}-{compact[9:]}"
    if len(compact) == 14:
        return f"**.***.***/{compact[8:12]}-{compact[12:]}"
    visible = compact[-4:] if len(compact) > 4 else ""
    return "*" * max(len(compact) - len(visible), 3) + visible


def mask_account(account: str | None) -> str:
    """Show only the last four letters or digits of an account number or IBAN, keeping its
    punctuation: `4398187-0` -> `****187-0`, an IBAN `BR18…93C1` -> `****…93C1`.
    Four or fewer are all masked (nothing would be left to hide)."""
    if not account:
        return ""
    if is_unreadable(account):
        return str(account)
    keep = 4 if sum(char.isalnum() for char in account) > 4 else 0
    masked = []
    for char in reversed(account):
        if char.isalnum():
            masked.append(char if keep else "*")
            keep = max(keep - 1, 0)
        else:
            masked.append(char)
    return "".join(reversed(masked))
