"""The Inspect panel: the service that traces a name, its view models and its charts."""
