; printpharm start: Marlin syringe SSE ({printer})
M140 S{bed_temp_c} ; bed (0 = unheated)
M104 S{nozzle_temp_c} ; syringe heater (0 = unheated)
M302 S0 ; allow cold extrusion: the E axis drives a plunger
G28 ; home all axes
M190 S{bed_temp_c}
M109 S{nozzle_temp_c}
M221 S100 ; flow factor to nominal: a previous job may have changed it
G90 ; absolute positions
G92 E0
G0 Z5 F{z_feed}
G0 X{purge_x0_mm} Y{purge_y_mm} F{travel_feed}
G0 Z{purge_z_mm} F{z_feed}
G1 E{reprime_e} F{purge_feed} ; re-prime what a previous batch sucked back
G92 E0
G1 X{purge_x1_mm} E{purge_e} F{purge_feed} ; prime line in the front margin
G92 E0
