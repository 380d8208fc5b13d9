"""Private parts of `eio.flow`: protocols, core operations and the built-in flows."""
