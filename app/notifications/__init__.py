"""Notifications: emails now; the in-app list arrives with the API issue."""
