"""The application layer: use cases that combine the domain (``inspector.core``) with storage
(``db``) and with child processes: promotion and its gate, review and verdict exports, training
data assembly, products, lots and their reports, engine parity images. The GUI and the CLI call
these; ``inspector.core`` never imports them (import-linter's ``layers`` contract)."""
