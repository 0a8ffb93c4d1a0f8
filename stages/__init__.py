"""Pipeline stages: one module per stage; the run order is in stages/registry.py."""
