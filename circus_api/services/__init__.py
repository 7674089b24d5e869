"""The rules of each resource. Services take plain values, never a Request, and raise CircusErrors."""
