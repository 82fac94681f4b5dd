"""Pure domain: prices, taxes, fees, refunds and policies. No I/O, no Temporal."""
