"""The flows that combine tokens, passwords and the store."""
