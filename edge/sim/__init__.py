"""Simulators of the hall's devices, speaking the real serial bytes and MQTT topics."""
