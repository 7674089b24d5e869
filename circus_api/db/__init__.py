"""One accessor module per MongoDB collection; the only code that runs queries.

Accessors return plain dicts without `_id`, or None for a missing document; they never raise HTTP
errors.
"""
