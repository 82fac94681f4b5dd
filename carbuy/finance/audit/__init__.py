"""Audits over everything carbuy ever did, purchase by purchase (the daily reconciliation works per day).

Kept free of imports so that importing the package pulls neither SQLAlchemy nor Stripe anywhere.
"""
