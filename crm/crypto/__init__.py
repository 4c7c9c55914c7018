"""Personal data at rest: encryption of columns (django-cryptography's format), search hashes
(blind indexes) and their canonical forms, metadata pair hashes, key rotation, the start-up key
check, masking for display, development key generation.

May import: `crm.db`. See docs/architecture.md.
"""
