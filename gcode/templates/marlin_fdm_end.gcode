; printpharm end: Marlin FDM
M104 S0 ; nozzle off
M140 S0 ; bed off
G91
G0 Z{park_lift_mm} F{z_feed}
G90
G0 X{park_x_mm} Y{park_y_mm} F{travel_feed} ; present the plate
M84 ; motors off
