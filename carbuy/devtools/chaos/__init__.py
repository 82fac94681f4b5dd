"""The chaos runner: many purchases under partner faults, worker kills and Temporal restarts (`carbuy chaos`)."""
