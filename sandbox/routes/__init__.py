"""One router per institution, plus the control API."""
