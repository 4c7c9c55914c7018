"""Who may call the API: API tokens, the Lerian Access Manager client, the access-control
system checks, and the start-up checks of required secrets and settings.

May import: `crm.api.errors`, `crm.models`. See docs/architecture.md.
"""
