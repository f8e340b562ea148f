"""The part of Granary's ``grnry_belt`` package that belt callbacks import (beltline shim)."""
