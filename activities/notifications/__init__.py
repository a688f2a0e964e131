"""Customer and staff notifications: templates, channels, routing, the outbox and the `notify` activity."""
