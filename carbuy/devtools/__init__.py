"""The dev harness: the local stack, the demo customer and the chaos runner (never imported by product code)."""
