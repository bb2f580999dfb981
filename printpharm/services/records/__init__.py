"""What was done, for people and inspectors: batch views, review and release, exports (PDF, CSV,
JSON, inspection package), the audit trail's views and export, and federation of standalone
workstations' records.
"""
