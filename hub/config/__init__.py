"""Configuration: the TOML file, its schema and its validation at the edge.

Entry point: `loader.py` (`load`, `validate`, `ConfigError`: a bad key stops the hub with exit code 2
and a message naming file, key, value and what is allowed). `schema.py` holds the core sections and
collects each capability's `schema.py` lazily; `keys.py` is the `Key`/`Section` vocabulary; `render.py`
writes `config/default.toml` and `config/hub.example.toml` from the schema.
"""
