"""The typed client of the starter API, for every caller carbuy has: the CLI, the demo, chaos and the bench."""
