"""Installing a hub on its box: the layout of an installed box, the actions, broker accounts, udev.

Sits under the CLI and above the config (pyproject.toml's layers); it never imports the hub.
"""
