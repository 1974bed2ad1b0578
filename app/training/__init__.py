"""Runs and their training: the service, one run's state machine, its storage, the event hub."""
