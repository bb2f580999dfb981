"""The Qt-free facade one workstation's desktop application drives, and the composition of the
records services for one database (shared with the CLI).
"""
