"""Masked personal values for staff pages: enough to recognise a record, not to copy it."""


def mask_document(document: str | None) -> str:
    """Show only the end of a tax document: `***.***.789-00` (CPF), `**.***.***/0001-95`
    (CNPJ), `*******1234` otherwise."""
    if not document:
        return ""
    compact = "".join(char for char in document if char.isalnum())
    if len(compact) == 11 and compact.isdigit():
        return f"***.***.{compact[6:9]}-{compact[9:]}"
    if len(compact) == 14:
        return f"**.***.***/{compact[8:12]}-{compact[12:]}"
    visible = compact[-4:] if len(compact) > 4 else ""
    return "*" * max(len(compact) - len(visible), 3) + visible
