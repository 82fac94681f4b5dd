"""The operator CLI: `carbuy` and its command groups (top layer: may import every other room)."""
