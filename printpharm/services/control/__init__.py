"""What may be printed, by whom and on what: the validated library, locked and research mode, the
print authority, second-person entry verification, a pharmacist's signed dose override, site
settings, the device registry and the workstation doctor.
"""
