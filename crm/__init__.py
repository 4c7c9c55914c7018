"""Shared kernel of the registry: base models, soft delete, encryption and search hashes,
tenancy, the error contract, pagination, merge patch, auth and audit. Imports no domain app."""
