"""The contract shared by the starter, the workflows, the activities and the tests.

Only the standard library and pydantic are imported here, so workflow code can import it inside the sandbox.
"""
