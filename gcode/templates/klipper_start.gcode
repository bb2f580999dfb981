; printpharm start: Klipper ({printer}); SSE needs min_extrude_temp: 0
M140 S{bed_temp_c}
M104 S{nozzle_temp_c}
G28
M190 S{bed_temp_c}
M109 S{nozzle_temp_c}
M221 S100 ; flow factor to nominal: a previous job may have changed it
G90
G92 E0
G0 Z5 F{z_feed}
G0 X{purge_x0_mm} Y{purge_y_mm} F{travel_feed}
G0 Z{purge_z_mm} F{z_feed}
G1 E{reprime_e} F{purge_feed} ; re-prime what a previous batch sucked back
G92 E0
G1 X{purge_x1_mm} E{purge_e} F{purge_feed} ; prime line
G92 E0
