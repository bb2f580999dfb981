"""What may be printed, by whom and on what: the validated library, the print authority (locked
mode and research mode's patient-use rule: one decision), second-person entry verification, a
pharmacist's signed dose override, site settings, the device registry and the workstation doctor.
"""
