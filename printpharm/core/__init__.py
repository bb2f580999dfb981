"""Pure domain: dosing and BSA, uniformity statistics, calibration. Imports no Qt, serial or SQL."""
