"""The hub's HTTP side: metrics, health, and the hall console (docs/console.md)."""
