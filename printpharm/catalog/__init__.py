"""Inks, recipes and printer definitions as schema-checked data files, resolved into settings."""
