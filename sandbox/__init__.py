"""The partner sandbox: every institution carbuy talks to, played by one local HTTP service."""
