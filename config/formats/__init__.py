"""Date formats per language (`FORMAT_MODULE_PATH`): ISO 8601 everywhere."""
