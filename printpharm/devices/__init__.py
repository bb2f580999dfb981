"""Serial transports, the Marlin printer link, the MT-SICS balance, and their simulators."""
