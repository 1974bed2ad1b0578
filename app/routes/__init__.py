"""The app's routers, one per concern: pages, fragments, api, events."""
