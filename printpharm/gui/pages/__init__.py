"""One module per workflow step; each page observes the workstation and forwards intent."""

__all__: list[str] = []
