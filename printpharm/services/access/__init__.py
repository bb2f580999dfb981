"""Who you are and what you may do: roles and permissions, passwords, users and their sessions,
accounts, and electronic signatures.

Nothing here knows about printing; every other service package asks this one.
"""
