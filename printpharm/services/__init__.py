"""Use cases shared by the CLI and the GUI; permissions are enforced here."""
