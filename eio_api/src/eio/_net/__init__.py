"""The backend-independent network layer behind `eio.net`: addresses, Protocols, functions."""
