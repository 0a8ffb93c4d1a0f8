"""The ground floor: pieces every other layer may import (errors, the Arrow batch bridge, the
per-worker cache, document ids). Imports nothing from the project."""
