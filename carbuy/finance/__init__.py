"""Finance: the daily reconciliation of the ledger against the payment processor and the lender, and its reports.

Kept free of imports so that importing the package pulls neither SQLAlchemy nor Stripe anywhere.
"""
