"""Runtime libraries every process uses: settings, the Temporal connection, signing and webhook verification."""
