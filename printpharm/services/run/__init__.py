"""One batch from plan to verdict: plan → print → weigh → correct → judge.

The request and options (``request``), the plate program (``program``), preflight, the unit loop
(``loop``) and its steps, flow correction, end-of-run QC, the events it publishes, the result it
returns, the devices it opens and the recorders it writes through. Knows nothing of who is logged
in beyond what a recorder is given.
"""
