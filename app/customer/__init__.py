"""The single customer view: golden records, traits, search and the profile API."""
