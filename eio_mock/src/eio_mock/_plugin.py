"""The pluggy entry point of the mock backend (registered, but only used when asked for by name)."""
