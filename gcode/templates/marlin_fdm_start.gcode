; printpharm start: Marlin FDM ({printer})
M140 S{bed_temp_c} ; bed
M104 S{nozzle_temp_c} ; nozzle
G28 ; home all axes
M190 S{bed_temp_c} ; wait for the bed
M109 S{nozzle_temp_c} ; wait for the nozzle
M221 S100 ; flow factor to nominal: a previous job may have changed it
G90 ; absolute positions
G92 E0
G0 Z5 F{z_feed}
G0 X{purge_x0_mm} Y{purge_y_mm} F{travel_feed}
G0 Z{purge_z_mm} F{z_feed}
G1 E{reprime_e} F{purge_feed} ; re-prime what a previous batch sucked back
G92 E0
G1 X{purge_x1_mm} E{purge_e} F{purge_feed} ; purge line in the front margin
G92 E0
