"""The fiber runtime: shared by every backend. Backend authors use it through `eio.lowlevel`."""
