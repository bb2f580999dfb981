"""One batch from plan to verdict: plan → print → weigh → correct → judge.

The request and options (``request``), the plate program (``program``), the ink a plate needs
against the printer's syringe or spool (``ink_capacity``) and the lot it prints from (``lot``),
preflight (with the dose override a refused dose prints under, ``override_record``), the unit loop
(``loop``) and its steps, flow correction, end-of-run QC, the events it publishes, the result it
returns, the devices it opens and the recorders it writes through. Knows nothing of who is logged
in beyond what a recorder is given.
"""
