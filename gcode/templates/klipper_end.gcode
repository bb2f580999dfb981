; printpharm end: Klipper
M104 S0
M140 S0
G91
G0 Z{park_lift_mm} F{z_feed}
G90
G0 X{park_x_mm} Y{park_y_mm} F{travel_feed}
M84
