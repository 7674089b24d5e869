"""Request body schemas (JSON Schema draft 7), one module per routes module."""
