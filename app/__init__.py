"""Huella: customer identity resolution."""
