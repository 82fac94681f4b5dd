"""carbuy's own database: engine, sessions and the tables carbuy writes (payment keys now, the ledger later).

Kept free of imports so that importing the package does not pull SQLAlchemy into the workflow sandbox.
"""
